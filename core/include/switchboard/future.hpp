// switchboard/future.hpp — the result of an RPC handler or a session operation:
// a JSON value now, or later, or an error.
//
// Thread-safety: a Future/Promise pair may be completed on one thread and observed
// on another; continuations run on the completing thread (or at once, on the
// registering thread, when already complete). Copies share one state.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

#include <boost/json/value.hpp>

namespace switchboard {

using Json = boost::json::value;

// An error as the RPC caller sees it: {"code": ..., "message": ...}.
struct Error {
  std::string code;
  std::string message;
};

// Throw from an RPC handler to answer the caller with this code and message.
class RpcError : public std::runtime_error {
 public:
  RpcError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

using Outcome = std::variant<Json, Error>;

class Future {
 public:
  // A ready value. Anything a boost::json::value can be built from converts.
  template <class T>
    requires(std::constructible_from<Json, T> && !std::same_as<std::decay_t<T>, Future>)
  Future(T&& value) : state_(std::make_shared<State>()) {  // NOLINT: implicit on purpose
    state_->outcome.emplace(Json(std::forward<T>(value)));
  }
  Future() : Future(Json()) {}  // ready null
  static Future failed(Error e) {
    Future f(nullptr);
    f.state_->outcome.emplace(std::move(e));
    return f;
  }

  // Calls fn exactly once with the outcome (at once if already complete).
  void on_complete(std::function<void(const Outcome&)> fn) const {
    std::unique_lock lock(state_->mu);
    if (state_->outcome) {
      Outcome copy = *state_->outcome;
      lock.unlock();
      fn(copy);
      return;
    }
    state_->callbacks.push_back(std::move(fn));
  }

  // Chains a step on success; errors pass through. fn may return a value or a Future.
  // An exception thrown by fn becomes an error outcome (RpcError keeps its code).
  Future then(std::function<Future(const Json&)> fn) const;

  bool ready() const {
    std::lock_guard lock(state_->mu);
    return state_->outcome.has_value();
  }

 private:
  friend class Promise;
  struct State {
    std::mutex mu;
    std::optional<Outcome> outcome;
    std::vector<std::function<void(const Outcome&)>> callbacks;
  };
  explicit Future(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

// The completing side of a Future. Completing twice is ignored.
class Promise {
 public:
  Promise() : state_(std::make_shared<Future::State>()) {}
  Future future() const { return Future(state_); }
  void resolve(Json value) const { complete(Outcome(std::move(value))); }
  void reject(Error e) const { complete(Outcome(std::move(e))); }
  void complete(Outcome o) const {
    std::vector<std::function<void(const Outcome&)>> cbs;
    {
      std::lock_guard lock(state_->mu);
      if (state_->outcome) return;
      state_->outcome = std::move(o);
      cbs.swap(state_->callbacks);
    }
    for (auto& cb : cbs) cb(*state_->outcome);
  }

 private:
  std::shared_ptr<Future::State> state_;
};

inline Future Future::then(std::function<Future(const Json&)> fn) const {
  Promise p;
  on_complete([p, fn = std::move(fn)](const Outcome& o) {
    if (auto* e = std::get_if<Error>(&o)) {
      p.reject(*e);
      return;
    }
    try {
      fn(std::get<Json>(o)).on_complete([p](const Outcome& o2) { p.complete(o2); });
    } catch (const RpcError& e) {
      p.reject({e.code(), e.what()});
    } catch (const std::exception& e) {
      p.reject({"handler_error", e.what()});
    }
  });
  return p.future();
}

}  // namespace switchboard
