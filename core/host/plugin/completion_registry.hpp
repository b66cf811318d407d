// The host's record of session-store operations in flight, so that a store
// completion is safe to receive at any time, from any thread.
//
// The op_ctx a plugin gets with an operation is an opaque number (never a pointer,
// never reused). Its first completion takes the operation's callback out of the
// registry and runs it. Any other completion finds nothing: a second completion of
// one operation, a completion after the instance's stop() returned ("late"), or a
// number the host never issued. Those are contract violations the host counts
// (CompletionScope::ignored, the registry total and
// switchboard_store_duplicate_completions_total), logs at most once per interval,
// and otherwise ignores: no freed memory is touched, no caller is answered twice.
//
// One registry serves every PluginStore of the process (process()), because a late
// completion can arrive after the store object that started the operation is gone.
// Thread-safe: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "observe/log.hpp"
#include "switchboard/session_store.hpp"
#include "sync/mutex.hpp"

namespace switchboard::plugin {

// One store instance's share of the registry: its name for log lines, whether its
// stop() has returned, and how many of its completions were ignored. Shared: the
// registry keeps it while operations of the instance are pending or recently done.
class CompletionScope {
 public:
  explicit CompletionScope(std::string component) : component_(std::move(component)) {}
  const std::string& component() const { return component_; }
  bool stopped() const { return stopped_.load(); }
  uint64_t ignored() const { return ignored_.load(); }

 private:
  friend class CompletionRegistry;
  const std::string component_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> ignored_{0};
};

class CompletionRegistry {
 public:
  // How many finished operations are remembered so that a duplicate completion can
  // be reported with the operation's name (bounded: 4096 small entries; a duplicate
  // older than that is still ignored and counted, only reported without a name).
  static constexpr size_t kRecentFinished = 4096;

  CompletionRegistry() = default;
  CompletionRegistry(const CompletionRegistry&) = delete;
  CompletionRegistry& operator=(const CompletionRegistry&) = delete;

  // The registry every PluginStore uses. Never destroyed: a plugin thread may still
  // complete something while the process exits.
  static CompletionRegistry& process();

  // Registers one pending operation of scope; op is a string literal naming it
  // ("add_channels"). Returns the op_ctx to hand to the plugin.
  void* add(std::shared_ptr<CompletionScope> scope, const char* op, StoreCallback done);

  // A completion of op_ctx arrived: returns the callback to run when it is the
  // first one. Otherwise returns an empty callback, having counted and logged it.
  StoreCallback take(void* op_ctx);

  // The instance of scope has stopped (its stop() returned): marks it so, and takes
  // out and returns its operations still pending, with their names, for the caller
  // to answer (the plugin broke the contract by not completing them in stop()).
  std::vector<std::pair<const char*, StoreCallback>> close(CompletionScope& scope);

  // Completions ignored so far, over every scope (they are numbered 1, 2, ...).
  uint64_t ignored() const { return ignored_.load(); }
  // A one-line description of the first completion ignored after the first `after`
  // ones, e.g. "store completed add_channels twice"; of the latest when that one is
  // no longer remembered (the last kRecentDescriptions are); empty when none.
  std::string describe_ignored(uint64_t after = 0) const;
  size_t pending() const;

  static constexpr size_t kRecentDescriptions = 16;

 private:
  struct Pending {
    std::shared_ptr<CompletionScope> scope;
    const char* op;
    StoreCallback done;
  };
  struct Finished {
    uint64_t id = 0;
    const char* op = nullptr;
    std::shared_ptr<CompletionScope> scope;
  };
  void remember(uint64_t id, const Pending& p) SB_REQUIRES(mu_);

  mutable sync::Mutex mu_;
  uint64_t next_id_ SB_GUARDED_BY(mu_) = 1;  // 0 is never issued
  std::unordered_map<uint64_t, Pending> pending_ SB_GUARDED_BY(mu_);
  std::vector<Finished> recent_ SB_GUARDED_BY(mu_);  // a ring of kRecentFinished
  size_t recent_next_ SB_GUARDED_BY(mu_) = 0;
  // The latest kRecentDescriptions ignored completions: (number, description).
  std::vector<std::pair<uint64_t, std::string>> described_ SB_GUARDED_BY(mu_);
  std::atomic<uint64_t> ignored_{0};  // written under mu_, read from anywhere
  observe::ThrottledLog log_{std::chrono::seconds(10)};
};

}  // namespace switchboard::plugin
