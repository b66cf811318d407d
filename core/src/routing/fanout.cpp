#include "routing/fanout.hpp"

#include <boost/asio/post.hpp>

#include "protocol/client_frames.hpp"

namespace switchboard::routing {

Fanout::Fanout(Limits limits, observe::Metrics& metrics, std::vector<Loop> loops)
    : limits_(limits.decode), metrics_(metrics) {
  for (const Loop& l : loops)
    loops_.push_back(std::unique_ptr<LoopInbox>(new LoopInbox{l, Inbox(limits.loop_inbox)}));
  expansion_.max_bytes = limits.max_expansion_bytes;
  expansion_.refused = &metrics_.bus_expansion_refused;
  // Shared with the deliveries: the last of them may be released after we are gone.
  expansion_.log = std::make_shared<observe::ThrottledLog>(std::chrono::seconds(10));
}

std::shared_ptr<Delivery> Fanout::build(Envelope&& e, ChannelFrames::Bound bound) {
  auto d = std::make_shared<Delivery>();
  switch (e.target) {
    case Target::kAll: d->kind = Delivery::Kind::kAll; break;
    case Target::kChannel: d->kind = Delivery::Kind::kChannel; break;
    case Target::kUser: d->kind = Delivery::Kind::kUser; break;
    case Target::kSocket: d->kind = Delivery::Kind::kSocket; break;
    case Target::kSession:
      d->kind = Delivery::Kind::kSession;
      d->session_key = std::move(e.session_key);
      d->user = std::move(e.user);
      d->channels = std::move(e.channels);
      d->new_session_key = std::move(e.new_session_key);  // a rotation (session ids)
      d->sealed_id = std::move(e.sealed_id);
      return d;
    case Target::kDisconnect:
      d->kind = Delivery::Kind::kDisconnect;
      d->targets = std::move(e.targets);
      d->by_user = e.by_user;
      d->reconnect = e.reconnect;
      return d;
    case Target::kIgnored: return nullptr;  // deliver() drops these before
  }
  if (d->kind == Delivery::Kind::kChannel) {
    d->channel_frames = std::make_shared<const ChannelFrames>(e.event, e.params_json,
                                                              e.targets.size(), std::move(bound));
  } else {
    d->frames.push_back(
        std::make_shared<const std::string>(protocol::event_frame(e.event, e.params_json, nullptr)));
  }
  d->targets = std::move(e.targets);
  return d;
}

void Fanout::deliver(std::string_view bytes) {
  observe::bump(metrics_.bus_messages);
  Result<Envelope> decoded = decode_envelope(bytes, limits_);
  if (!decoded) {
    observe::bump(metrics_.bus_malformed);
    malformed_log_.warn("bus", "dropped a malformed bus message: " + decoded.status().message());
    return;
  }
  Envelope& e = decoded.value();
  if (e.target == Target::kIgnored) return;
  std::string nonce = std::move(e.nonce);
  auto d = build(std::move(e), expansion_);
  if (!nonce.empty() && session_applied_) {
    // The deleter runs when the last loop drops the delivery, i.e. once applied.
    d->applied = std::shared_ptr<void>(nullptr, [fn = session_applied_, nonce](void*) { fn(nonce); });
  }
  for (auto& l : loops_) {
    switch (l->inbox.push(d)) {
      case Inbox::Push::kPostDrain: post_drain(*l); break;
      case Inbox::Push::kQueued: break;  // a drain is already on its way
      case Inbox::Push::kFull: observe::bump(metrics_.loop_inbox_full); break;
    }
  }
}

// Runs on the loop: dispatches a batch of its inbox, and posts itself again
// while more wait, so the loop's own I/O runs between batches.
void Fanout::post_drain(LoopInbox& l) {
  boost::asio::post(*l.loop.ioc, [this, &l] {
    thread_local std::vector<std::shared_ptr<const Delivery>> batch;
    const bool more = l.inbox.take(batch, kDrainBatch);
    for (const auto& delivery : batch)
      observe::bump(metrics_.events_delivered, l.loop.shard->dispatch(*delivery));
    batch.clear();  // releases the deliveries (a session change's completion)
    if (more) post_drain(l);
  });
}

}  // namespace switchboard::routing
