#include "net/outbound_queue.hpp"

namespace switchboard::net {

bool OutboundQueue::push(const routing::Frame& frame) {
  if (bytes_ + frame->size() > max_bytes_) return false;
  waiting_.push_back(frame);
  bytes_ += frame->size();
  return true;
}

std::string_view OutboundQueue::take() {
  in_flight_ = true;
  std::string_view payload;
  if (waiting_.size() == 1) {
    single_ = std::move(waiting_.front());
    in_flight_bytes_ = single_->size();
    payload = *single_;
  } else {
    in_flight_bytes_ = 0;
    for (const auto& f : waiting_) in_flight_bytes_ += f->size();
    batch_.clear();
    batch_.reserve(in_flight_bytes_ + waiting_.size() + 1);
    batch_ += '[';
    for (size_t i = 0; i < waiting_.size(); ++i) {
      if (i) batch_ += ',';
      batch_ += *waiting_[i];
    }
    batch_ += ']';
    payload = batch_;
  }
  waiting_.clear();
  if (waiting_.capacity() > kKeepSlots) std::vector<routing::Frame>().swap(waiting_);
  return payload;
}

void OutboundQueue::written() {
  if (!in_flight_) return;
  in_flight_ = false;
  bytes_ -= in_flight_bytes_;
  in_flight_bytes_ = 0;
  single_.reset();
  if (batch_.capacity() > kKeepBatchBytes) std::string().swap(batch_);
}

void OutboundQueue::drop_waiting() {
  for (const auto& f : waiting_) bytes_ -= f->size();
  waiting_.clear();
}

void OutboundQueue::release() {
  drop_waiting();
  std::vector<routing::Frame>().swap(waiting_);
  if (!in_flight_) std::string().swap(batch_);  // else the write still reads it
}

}  // namespace switchboard::net
