// The core's mutex, with clang's thread-safety annotations: a member written
// `T x SB_GUARDED_BY(mu_);` may only be touched while `sync::Lock` holds mu_,
// and a clang build with -Wthread-safety (CI, SWITCHBOARD_THREAD_SAFETY=ON)
// fails where it is not. GCC ignores the annotations; the code is the same.
//
// Lock is a scoped lock that a condition_variable_any can release and retake
// while waiting. Waits are written as loops in the locked scope (not with a
// predicate lambda, which the analysis cannot see into).
#pragma once

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define SB_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SB_THREAD_ANNOTATION(x)
#endif

#define SB_CAPABILITY(x) SB_THREAD_ANNOTATION(capability(x))
#define SB_SCOPED_CAPABILITY SB_THREAD_ANNOTATION(scoped_lockable)
#define SB_GUARDED_BY(x) SB_THREAD_ANNOTATION(guarded_by(x))
#define SB_PT_GUARDED_BY(x) SB_THREAD_ANNOTATION(pt_guarded_by(x))
#define SB_REQUIRES(...) SB_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define SB_EXCLUDES(...) SB_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define SB_ACQUIRE(...) SB_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define SB_RELEASE(...) SB_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define SB_ACQUIRE_SHARED(...) SB_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define SB_RELEASE_SHARED(...) SB_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define SB_RELEASE_GENERIC(...) SB_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))

namespace switchboard::sync {

class SB_CAPABILITY("mutex") Mutex {
 public:
  void lock() SB_ACQUIRE() { m_.lock(); }
  void unlock() SB_RELEASE() { m_.unlock(); }

 private:
  std::mutex m_;
};

class SB_SCOPED_CAPABILITY Lock {
 public:
  explicit Lock(Mutex& m) SB_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~Lock() SB_RELEASE() {
    if (held_) m_.unlock();
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  // For condition_variable_any (BasicLockable): released while it waits.
  void lock() SB_ACQUIRE() {
    m_.lock();
    held_ = true;
  }
  void unlock() SB_RELEASE() {
    held_ = false;
    m_.unlock();
  }

 private:
  Mutex& m_;
  bool held_ = true;
};

// Many readers or one writer. ReadLock / WriteLock hold it for a scope.
class SB_CAPABILITY("mutex") SharedMutex {
 public:
  void lock() SB_ACQUIRE() { m_.lock(); }
  void unlock() SB_RELEASE() { m_.unlock(); }
  void lock_shared() SB_ACQUIRE_SHARED() { m_.lock_shared(); }
  void unlock_shared() SB_RELEASE_SHARED() { m_.unlock_shared(); }

 private:
  std::shared_mutex m_;
};

class SB_SCOPED_CAPABILITY ReadLock {
 public:
  explicit ReadLock(SharedMutex& m) SB_ACQUIRE_SHARED(m) : m_(m) { m_.lock_shared(); }
  ~ReadLock() SB_RELEASE_GENERIC() { m_.unlock_shared(); }
  ReadLock(const ReadLock&) = delete;
  ReadLock& operator=(const ReadLock&) = delete;

 private:
  SharedMutex& m_;
};

class SB_SCOPED_CAPABILITY WriteLock {
 public:
  explicit WriteLock(SharedMutex& m) SB_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~WriteLock() SB_RELEASE() { m_.unlock(); }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

 private:
  SharedMutex& m_;
};

}  // namespace switchboard::sync
