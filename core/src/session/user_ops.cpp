#include "session/user_ops.hpp"

#include <deque>
#include <memory>
#include <unordered_set>
#include <utility>
#include <variant>

#include <boost/json.hpp>

#include "sync/mutex.hpp"

namespace switchboard::session {
namespace {

// How one session of the job ended.
enum class Ended {
  kDone,       // now as asked (changed, or already so)
  kGone,       // expired, or no longer the user's: not counted
  kOverLimit,  // subscribe: left unchanged by a channel bound
};

class Job : public std::enable_shared_from_this<Job> {
 public:
  Job(SessionService& service, UserOp op, std::vector<std::string> channels,
      std::function<void(UserOpReport)> done)
      : service_(service), op_(op), channels_(std::move(channels)), done_(std::move(done)) {
    // Each name once, in the order given.
    std::unordered_set<std::string> seen;
    std::erase_if(channels_, [&seen](const std::string& c) { return !seen.insert(c).second; });
  }

  void start(std::vector<std::string> users) {
    std::unordered_set<std::string> seen;
    std::erase_if(users, [&seen](const std::string& u) { return !seen.insert(u).second; });
    {
      sync::Lock lock(mu_);
      listing_ = users.size();
    }
    for (const auto& user : users) {
      service_.users().list(user, [self = shared_from_this(), user](Status s, std::vector<std::string> ids) {
        {
          sync::Lock lock(self->mu_);
          --self->listing_;
          if (!s.is_ok()) self->note(store_error(s));
          for (auto& id : ids) self->queue_.emplace_back(user, std::move(id));
        }
        self->pump();
      });
    }
    if (users.empty()) pump();
  }

 private:
  // Starts queued sessions up to the concurrency bound; reports once all ended.
  // One thread pumps at a time, in a loop: a session that ends at once (a store
  // refusing on the caller's thread) asks for another round instead of
  // recursing, so thousands of refusals do not deepen the stack.
  void pump() {
    {
      sync::Lock lock(mu_);
      if (pumping_) {
        again_ = true;
        return;
      }
      pumping_ = true;
    }
    for (;;) {
      std::vector<std::pair<std::string, std::string>> now;
      std::optional<UserOpReport> finished;
      {
        sync::Lock lock(mu_);
        again_ = false;
        while (running_ < kConcurrentSessions && !queue_.empty()) {
          now.push_back(std::move(queue_.front()));
          queue_.pop_front();
          ++running_;
        }
        if (running_ == 0 && listing_ == 0 && queue_.empty() && !reported_) {
          reported_ = true;
          finished = report_;
        }
      }
      for (auto& [user, id] : now) one(user, id);
      if (finished) done_(*finished);
      sync::Lock lock(mu_);
      if (!again_) {
        pumping_ = false;
        return;
      }
    }
  }

  void note(const Error& e) SB_REQUIRES(mu_) {
    if (!report_.error) report_.error = e;
  }

  void settle(std::variant<Ended, Error> how) {
    {
      sync::Lock lock(mu_);
      --running_;
      if (const Error* e = std::get_if<Error>(&how)) {
        if (e->code == "limit_exceeded") ++report_.over_limit;
        else if (e->code != "session_expired") note(*e);
      } else if (std::get<Ended>(how) == Ended::kDone) {
        ++report_.sessions;
      } else if (std::get<Ended>(how) == Ended::kOverLimit) {
        ++report_.over_limit;
      }
    }
    pump();
  }

  // Settles with a change's outcome.
  void settle_with(const Future& f, std::shared_ptr<Ended> instead = nullptr) {
    f.on_complete([self = shared_from_this(), instead](const Outcome& o) {
      if (const Error* e = std::get_if<Error>(&o)) return self->settle(*e);
      self->settle(instead ? *instead : Ended::kDone);
    });
  }

  void one(const std::string& user, const std::string& id) {
    const int64_t ttl = service_.settings().session.ttl.count();
    service_.with_store(
        [self = shared_from_this(), user, id, ttl](SessionStore& store) {
          store.load(id, ttl, [self, user, id](Status s, const SessionRecord* r) {
            if (s.code() == StatusCode::kNotFound || (s.is_ok() && r && r->user_id != user)) {
              self->service_.users().withdraw(user, id);
              return self->settle(Ended::kGone);
            }
            if (!s.is_ok() || r == nullptr)
              return self->settle(store_error(s.is_ok() ? Status(StatusCode::kError, "no record") : s));
            self->change(user, id, *r);
          });
        },
        [self = shared_from_this()](Status refused) { self->settle(store_error(refused)); });
  }

  void change(const std::string& user, const std::string& id, const SessionRecord& before) {
    const auto& limits = service_.settings().limits;
    const int64_t ttl = service_.settings().session.ttl.count();
    const std::string key = service_.routing_key_of(id);
    auto channels = [](const SessionRecord& r) { return Json(static_cast<int64_t>(r.channels.size())); };
    switch (op_) {
      case UserOp::kSignOut:
        return service_.sign_out(id).on_complete([self = shared_from_this(), user, id](const Outcome& o) {
          if (const Error* e = std::get_if<Error>(&o)) return self->settle(*e);
          self->service_.users().withdraw(user, id);
          self->settle(Ended::kDone);
        });
      case UserOp::kUnsubscribe: {
        std::unordered_set<std::string_view> held(before.channels.begin(), before.channels.end());
        bool any = false;
        for (const auto& c : channels_) any = any || held.count(c);
        if (!any) return settle(Ended::kDone);
        return settle_with(service_.change(
            key,
            [id, names = channels_, ttl](SessionStore& s, StoreCallback cb) {
              s.remove_channels(id, names, ttl, std::move(cb));
            },
            true, channels));
      }
      case UserOp::kSubscribe: {
        std::unordered_set<std::string_view> held(before.channels.begin(), before.channels.end());
        std::vector<std::string> added;
        for (const auto& c : channels_)
          if (!held.count(c)) added.push_back(c);
        if (added.empty()) return settle(Ended::kDone);
        const uint32_t max = limits.channels_per_session;
        const uint64_t max_bytes = limits.session_channel_bytes;
        if (before.channels.size() + added.size() > max ||
            channel_bytes(before.channels) + channel_bytes(added) > max_bytes)
          return settle(Ended::kOverLimit);
        // Checked again on the record the add produced: a sign-out or another
        // subscribe may have landed since the load. Either takes the names back
        // before the change is announced.
        auto instead = std::make_shared<Ended>(Ended::kDone);
        SessionService& service = service_;
        return settle_with(
            service_.change(
                key,
                [&service, id, user, added, max, max_bytes, ttl, instead](SessionStore& s, StoreCallback cb) {
                  s.add_channels(id, added, max, ttl, [&service, id, user, added, max_bytes, ttl, instead, cb](
                                                          Status st, const SessionRecord* r) {
                    if (!st.is_ok() || r == nullptr) return cb(st, r);
                    if (r->user_id == user && channel_bytes(r->channels) <= max_bytes) return cb(st, r);
                    *instead = r->user_id == user ? Ended::kOverLimit : Ended::kGone;
                    service.compensate(
                        [id, added, ttl](SessionStore& s2, StoreCallback done) {
                          s2.remove_channels(id, added, ttl, std::move(done));
                        },
                        cb);
                  });
                },
                true, channels),
            instead);
      }
    }
  }

  SessionService& service_;
  const UserOp op_;
  std::vector<std::string> channels_;
  const std::function<void(UserOpReport)> done_;
  sync::Mutex mu_;
  std::deque<std::pair<std::string, std::string>> queue_ SB_GUARDED_BY(mu_);  // (user, session id)
  size_t listing_ SB_GUARDED_BY(mu_) = 0;  // users whose index is still being read
  size_t running_ SB_GUARDED_BY(mu_) = 0;
  bool reported_ SB_GUARDED_BY(mu_) = false;
  bool pumping_ SB_GUARDED_BY(mu_) = false;  // a thread is in pump()
  bool again_ SB_GUARDED_BY(mu_) = false;    // pump() was called meanwhile
  UserOpReport report_ SB_GUARDED_BY(mu_);
};

class UsersImpl final : public Users {
 public:
  explicit UsersImpl(SessionService& service) : service_(service) {}
  Future subscribe(const Names& users, const Names& channels) override {
    return run(UserOp::kSubscribe, users, &channels);
  }
  Future unsubscribe(const Names& users, const Names& channels) override {
    return run(UserOp::kUnsubscribe, users, &channels);
  }
  Future sign_out(const Names& users) override { return run(UserOp::kSignOut, users, nullptr); }

 private:
  Future run(UserOp op, const Names& users, const Names* channels) {
    const auto& settings = service_.settings();
    const auto& u = users.get();
    if (u.empty() || u.size() > kMaxUsers)
      return Future::failed({"bad_args", "name 1.." + std::to_string(kMaxUsers) + " users"});
    for (const auto& user : u)
      if (!valid_user_id(settings, user)) return Future::failed(user_id_error(settings));
    std::vector<std::string> names;
    if (channels) {
      names = channels->get();
      const auto& l = settings.limits;
      if (names.empty() || names.size() > l.channels_per_session)
        return Future::failed({"invalid_channel", "name 1.." + std::to_string(l.channels_per_session) +
                                                      " channels (limits.channels_per_session)"});
      if (auto bad = check_channel_names(settings, names)) return Future::failed(*bad);
    }
    Promise p;
    for_user_sessions(service_, op, u, std::move(names), [p, op](const UserOpReport& r) {
      if (r.error) return p.reject(*r.error);
      boost::json::object o{{"sessions", r.sessions}};
      if (op == UserOp::kSubscribe) o["overLimit"] = r.over_limit;
      p.resolve(std::move(o));
    });
    return p.future();
  }

  SessionService& service_;
};

}  // namespace

std::unique_ptr<Users> make_users(SessionService& service) { return std::make_unique<UsersImpl>(service); }

void for_user_sessions(SessionService& service, UserOp op, std::vector<std::string> users,
                       std::vector<std::string> channels, std::function<void(UserOpReport)> done) {
  std::make_shared<Job>(service, op, std::move(channels), std::move(done))->start(users);
}

}  // namespace switchboard::session
