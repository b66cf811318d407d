// EventLoop: the flush pass and the sweep (event_loop.hpp).
#include "net/event_loop.hpp"

#include <boost/asio/post.hpp>

namespace switchboard::net {

void EventLoop::request_flush(std::shared_ptr<LoopMember> c) {
  dirty_.push_back(std::move(c));
  if (!flush_posted_) schedule_flush();
}

void EventLoop::schedule_flush() {
  flush_posted_ = true;
  // Adaptive coalescing: a pass begins no sooner after the previous one ended
  // than that one took (at most kMaxWriteGap), so a loop busy writing spends
  // about half its time on new events, whose frames then leave together; and
  // no sooner than server.write_interval after the previous one began.
  // (Called between passes only: last_pass_ and last_pass_end_ are one pass's.)
  auto took = std::min<std::chrono::steady_clock::duration>(last_pass_end_ - last_pass_,
                                                            kMaxWriteGap);
  auto due = std::max(last_pass_ + write_interval_, last_pass_end_ + took);
  if (std::chrono::steady_clock::now() >= due) {
    boost::asio::post(ioc_, [this] { flush_pass(); });
    return;
  }
  flush_timer_.expires_at(due);
  flush_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) flush_pass();
  });
}

void EventLoop::flush_pass() {
  if (flush_at_ == flushing_.size()) {  // a new pass: take every connection that asked
    flushing_.clear();
    flush_at_ = 0;
    flushing_.swap(dirty_);
    last_pass_ = std::chrono::steady_clock::now();
  }
  size_t end = std::min(flushing_.size(), flush_at_ + kFlushChunk);
  for (; flush_at_ < end; ++flush_at_) flushing_[flush_at_]->flush();
  if (flush_at_ < flushing_.size()) {
    // Yield between chunks: reads (RPCs among them) and deliveries queued behind
    // this pass run before its next chunk.
    boost::asio::post(ioc_, [this] { flush_pass(); });
    return;
  }
  flushing_.clear();
  flush_at_ = 0;
  flush_posted_ = false;
  last_pass_end_ = std::chrono::steady_clock::now();
  if (!dirty_.empty()) schedule_flush();
}


void EventLoop::attach(LoopMember* c, std::chrono::milliseconds sweep_every) {
  c->sweep_prev_ = nullptr;
  c->sweep_next_ = swept_;
  if (swept_) swept_->sweep_prev_ = c;
  swept_ = c;
  c->attached_ = true;
  sweep_every_ = sweep_every;
  if (!sweep_armed_) arm_sweep();
}

void EventLoop::detach(LoopMember* c) {
  if (!c->attached_) return;
  if (c->sweep_prev_) c->sweep_prev_->sweep_next_ = c->sweep_next_;
  else swept_ = c->sweep_next_;
  if (c->sweep_next_) c->sweep_next_->sweep_prev_ = c->sweep_prev_;
  c->sweep_prev_ = c->sweep_next_ = nullptr;
  c->attached_ = false;
}

void EventLoop::arm_sweep() {
  sweep_armed_ = true;
  sweep_timer_.expires_after(sweep_every_);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    sweep_armed_ = false;
    if (ec) return;
    sweep();
  });
}

void EventLoop::sweep() {
  auto now = std::chrono::steady_clock::now();
  for (LoopMember* c = swept_; c != nullptr;) {
    LoopMember* next = c->sweep_next_;  // `c` may leave the list
    c->sweep(now);
    c = next;
  }
  // Only while there are connections: an idle loop can finish once released.
  if (swept_) arm_sweep();
}

}  // namespace switchboard::net
