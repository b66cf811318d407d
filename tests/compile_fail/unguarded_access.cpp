// Must NOT compile under clang -Wthread-safety -Werror (scripts/test checks that
// it fails): proves the annotations in core/host/sync/mutex.hpp are live, so a
// clean build of the core means its guarded members are really locked.
#include "sync/mutex.hpp"

namespace {
struct Counter {
  switchboard::sync::Mutex mu;
  int n SB_GUARDED_BY(mu) = 0;
  void bump_unlocked() { ++n; }  // the error: n is written without mu
  void bump() {
    switchboard::sync::Lock lock(mu);
    ++n;
  }
};
}  // namespace

int main() {
  Counter c;
  c.bump();
  c.bump_unlocked();
}
