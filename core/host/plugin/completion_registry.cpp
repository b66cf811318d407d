#include "plugin/completion_registry.hpp"

#include <cstdint>

#include "observe/metrics.hpp"
#include "sync/mutex.hpp"

namespace switchboard::plugin {

// An op_ctx carries the whole 64-bit id, so ids are never reused.
static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "op_ctx must hold a 64-bit id");

CompletionRegistry& CompletionRegistry::process() {
  static auto* registry = new CompletionRegistry();  // leaked on purpose: see the header
  return *registry;
}

void* CompletionRegistry::add(std::shared_ptr<CompletionScope> scope, const char* op,
                              StoreCallback done) {
  sync::Lock lock(mu_);
  uint64_t id = next_id_++;
  pending_.emplace(id, Pending{std::move(scope), op, std::move(done)});
  return reinterpret_cast<void*>(static_cast<uintptr_t>(id));
}

void CompletionRegistry::remember(uint64_t id, const Pending& p) {
  if (recent_.size() < kRecentFinished) {
    recent_.push_back({id, p.op, p.scope});
    return;
  }
  recent_[recent_next_] = {id, p.op, p.scope};
  recent_next_ = (recent_next_ + 1) % kRecentFinished;
}

StoreCallback CompletionRegistry::take(void* op_ctx) {
  const auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(op_ctx));
  std::string what, component = "store";
  std::shared_ptr<CompletionScope> scope;
  {
    sync::Lock lock(mu_);
    auto it = pending_.find(id);
    if (it != pending_.end()) {
      Pending p = std::move(it->second);
      pending_.erase(it);
      remember(id, p);
      return std::move(p.done);
    }
    for (const auto& f : recent_) {
      if (f.id != id) continue;
      scope = f.scope;
      what = std::string("store completed ") + f.op +
             (scope->stopped() ? " after stop() returned" : " twice");
      break;
    }
    if (what.empty())
      what = "store completed an operation it was not given or finished long ago (op_ctx " +
             std::to_string(id) + ")";
    uint64_t number = ignored_.fetch_add(1) + 1;
    if (described_.size() == kRecentDescriptions) described_.erase(described_.begin());
    described_.emplace_back(number, what);
  }
  observe::bump(observe::store_duplicate_completions());
  if (scope) {
    scope->ignored_.fetch_add(1);
    component = scope->component();
  }
  log_.warn(component, what + ": a plugin contract violation; the completion is ignored "
                              "(switchboard_store_duplicate_completions_total)");
  return {};
}

std::vector<std::pair<const char*, StoreCallback>> CompletionRegistry::close(
    CompletionScope& scope) {
  std::vector<std::pair<const char*, StoreCallback>> left;
  sync::Lock lock(mu_);
  scope.stopped_ = true;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.scope.get() != &scope) {
      ++it;
      continue;
    }
    remember(it->first, it->second);
    left.emplace_back(it->second.op, std::move(it->second.done));
    it = pending_.erase(it);
  }
  return left;
}

std::string CompletionRegistry::describe_ignored(uint64_t after) const {
  sync::Lock lock(mu_);
  for (const auto& [number, what] : described_)
    if (number > after) return what;
  return described_.empty() ? std::string() : described_.back().second;
}

size_t CompletionRegistry::pending() const {
  sync::Lock lock(mu_);
  return pending_.size();
}

}  // namespace switchboard::plugin
