#pragma once

// The state of `rag relay` without any sockets: channels, their bounded backlogs,
// subscriber cursors and sync-mode reply waiters (docs/relay-protocol.md).

#include "core/clock.hpp"
#include "core/id.hpp"
#include "core/relay_message.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rag::engine {

struct RelayHubOptions
{
  std::size_t backlog_count = 10000;                  // events held per channel
  std::int64_t backlog_age_us = 3600LL * 1000 * 1000; // events older than this go
  std::size_t backlog_bytes = std::size_t{64} << 20;  // SSE frame bytes per channel
  std::size_t max_held = std::size_t{512} << 20;      // held bytes, all channels together
  std::size_t build_bytes = std::size_t{64} << 20;    // request bodies serialised at once
  std::size_t answered_memory = 1000;                 // replied ids kept for 409s
};

// One published webhook as the hub holds it: its SSE frame is serialised once, and
// each subscriber receives the variant its MessageFields ask for.
struct HeldEvent
{
  std::string id;
  std::int64_t time_us = 0;
  std::string method;
  std::string target; // relative to the channel, as in the message's `rag.target`
  std::size_t body_size = 0;
  std::string frame_start;    // "id: ID\ndata: "
  core::RelayMessage message; // the data line, for every kind of subscriber

  // Append to `out` the pieces of the frame for a subscriber that gets `fields`
  // (id: and data: lines and the blank line); they point into this event.
  void append_frame(core::MessageFields fields, std::vector<std::string_view>& out) const;
  // Return the frame for a subscriber that gets `fields`, in one string.
  std::string frame(core::MessageFields fields) const;
  // Return the bytes the event holds (what --backlog-bytes counts).
  std::size_t bytes() const { return frame_start.size() + message.size(); }
};
using HeldEventPtr = std::shared_ptr<const HeldEvent>;

// How a publish ended: held (with its event), or refused because holding it would
// evict events a connected subscriber has not read (docs/relay-protocol.md, "Backpressure").
struct RelayPublish
{
  enum class Refusal {
    none,         // held: `event` is set
    channel_full, // past the channel's count, byte or age bound, with unread events
    relay_full,   // everything the relay holds would pass max_held
  } refused = Refusal::none;
  HeldEventPtr event; // the held event; null when refused
  // Refused, and the previous publish checked against the same bound (this channel's,
  // or the relay's) was held: the start of a stretch of refusals.
  bool started_refusing = false;
  bool channel_resumed = false; // held, and this channel's previous publish was channel_full
  bool relay_resumed = false;   // held, and the relay's previous refusal was not followed by a hold
};

// What a subscriber reads next (see RelayHub::next).
struct RelayBatch
{
  std::vector<HeldEventPtr> events; // in id order, each newer than the cursor was
  bool gap = false;                 // events newer than the cursor were evicted before it read them
  bool closed = false;              // the hub was shut down: end the stream
};

// How a sync-mode sender's wait ended.
struct RelayAwait
{
  enum class Kind { reply, timeout, shutdown } kind = Kind::timeout;
  core::RelayReply reply; // when kind == reply
};

// The answer to a tunnel's reply post.
enum class ReplyOutcome {
  accepted,    // the first reply: handed to the waiting sender (204)
  duplicate,   // the event was answered already (409)
  not_waiting, // no sender waits for that event (404)
};

class RelayHub;
struct RelayChannel; // one channel's state; defined in relay_hub.cpp

// One subscriber's cursor on a channel; unsubscribes when destroyed. Only its own
// connection thread uses it, so a slow subscriber never holds up anyone else.
class RelaySubscription
{
public:
  ~RelaySubscription();
  RelaySubscription(const RelaySubscription&) = delete;
  RelaySubscription& operator=(const RelaySubscription&) = delete;

  // The id the stream's `ready` event carries: the resume point when one was given
  // (so a client that drops before the replay resumes from it), else the channel's
  // position (the newest held id, or a position id that sorts before any later event).
  const std::string& ready_id() const { return m_ready_id; }
  // True when events after the given Last-Event-ID may have been lost: some were
  // evicted from the backlog, or the channel was created after that id (the relay
  // restarted, or forgot the channel while it was idle and empty).
  bool gap() const { return m_gap; }
  // The id of the last event this subscriber was given (or ready_id()).
  const std::string& cursor() const { return m_cursor; }

private:
  friend class RelayHub;
  RelaySubscription(std::shared_ptr<RelayChannel> channel, std::string ready_id, std::string cursor,
                    bool gap);

  std::shared_ptr<RelayChannel> m_channel;
  std::string m_ready_id;
  std::string m_cursor;
  bool m_gap = false;
};

// Channels (created on first use) with per-channel backlogs bounded by count, age
// and bytes, and all of them by max_held; strictly increasing event ids; subscribers
// with cursors; sync-mode waiters. Thread-safe; publishing never waits for
// subscribers: where it would evict what one has not read, it is refused.
class RelayHub
{
public:
  RelayHub(RelayHubOptions options, core::Clock& clock, core::IdSource& ids);
  ~RelayHub();
  RelayHub(const RelayHub&) = delete;
  RelayHub& operator=(const RelayHub&) = delete;

  // Give `request` an id and time, build its SSE frame once (with the sync-mode `reply`
  // path "/_rag/reply/CHANNEL/ID" when `await_reply`; at most build_bytes of bodies are
  // serialised at once, others wait), evict what falls outside the bounds among the
  // events every connected subscriber has read, then append it to `channel`'s backlog
  // and wake the channel's subscribers; or refuse it when it would pass a bound with
  // events still unread (the relay-wide bound first evicts read events anywhere). With
  // `await_reply` a waiter is registered before anyone can see the event; the caller
  // must then call await_reply() for a held one.
  RelayPublish publish(const std::string& channel, core::RelayedRequest request,
                       bool await_reply = false);

  // Subscribe to `channel`, resuming after `last_event_id` when it is a valid id
  // (an id newer than anything published is taken as "now"); otherwise live only.
  std::unique_ptr<RelaySubscription> subscribe(const std::string& channel,
                                               std::string_view last_event_id = {});

  // Return the held events newer than the subscription's cursor (advancing it), waiting
  // up to `max_wait` for one to be published; an empty batch means the wait ran out.
  RelayBatch next(RelaySubscription& subscription, std::chrono::milliseconds max_wait);

  // Wait up to `timeout` for the reply to event `id` of `channel`, published with
  // await_reply; the first reply posted wins.
  RelayAwait await_reply(const std::string& channel, const std::string& id,
                         std::chrono::milliseconds timeout);

  // Hand a tunnel's reply to the sender waiting for event `id` of `channel`.
  ReplyOutcome post_reply(const std::string& channel, const std::string& id,
                          core::RelayReply reply);

  // Return up to `count` of the channel's newest held events, newest first.
  std::vector<HeldEventPtr> recent(const std::string& channel, std::size_t count);

  // Return how many subscribers `channel` has right now.
  std::size_t subscriber_count(const std::string& channel);

  // Return the number of channels that exist (hold events, subscribers or waiters).
  std::size_t channel_count();

  // Return the bytes of the events held in all channels (what max_held bounds).
  std::size_t held_bytes() const { return m_held.load(); }

  // Wake every waiting subscriber and sender: next() returns closed batches and
  // await_reply() returns shutdown from now on. Idempotent.
  void shutdown();

private:
  // Return the channel named `name` locked, creating it when `create`; null when it
  // does not exist and `create` is false.
  std::shared_ptr<RelayChannel> find_locked(const std::string& name, bool create,
                                            std::unique_lock<std::mutex>& lock);
  // Drop the oldest events that every connected subscriber has read (all of them when
  // none is connected) while they are older than the age bound or the channel is over
  // its count or byte bound, counting one more event of `incoming` bytes when
  // `for_incoming` (else the newest stays); the channel's lock is held.
  void evict(RelayChannel& channel, std::int64_t now_us, bool for_incoming = false,
             std::size_t incoming = 0);
  // Drop the oldest read events of any channel (those not busy) until `needed` more
  // bytes fit in max_held, or nothing more can go; no channel lock is held.
  void reclaim(std::size_t needed);
  // Remove the channel's oldest event; its lock is held.
  void drop_oldest(RelayChannel& channel);
  // Now and then: apply the age bound everywhere and forget idle, empty channels.
  void sweep(std::int64_t now_us);
  // An id that sorts after every id issued so far and before any issued later.
  std::string position_id(std::int64_t now_us);

  RelayHubOptions m_options;
  core::Clock& m_clock;
  core::IdSource& m_ids;
  std::atomic<std::int64_t> m_last_issued_us{0}; // time part of the newest id issued
  std::atomic<std::size_t> m_held{0};            // bytes of the events in every backlog
  std::atomic<bool> m_relay_refusing{false};     // the last publish was refused: relay_full
  std::mutex m_build_mutex;                      // guards m_building
  std::condition_variable m_build_done;
  std::size_t m_building = 0; // body bytes being serialised now
  std::mutex m_mutex;         // guards the members below
  std::map<std::string, std::shared_ptr<RelayChannel>, std::less<>> m_channels;
  std::int64_t m_last_sweep_us = 0;
  bool m_shut_down = false;
};

} // namespace rag::engine
