#include "engine/relay_hub.hpp"

#include "core/sse.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <optional>
#include <utility>

namespace rag::engine {

namespace {

// How often (in hub clock time) publish/subscribe also sweep every channel.
constexpr std::int64_t k_sweep_interval_us = 1'000'000;

constexpr char k_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t k_time_chars = 11;
constexpr std::size_t k_random_chars = 15;

// "evt_" + the time part of `time_us` + an all-zero random part: sorts before every
// id issued for a later time, and after every id issued for an earlier one.
std::string
zero_id(std::int64_t time_us)
{
  std::string id = "evt_";
  const auto t = static_cast<std::uint64_t>(time_us);
  for (std::size_t i = 0; i < k_time_chars; ++i) {
    id.push_back(k_crockford[(t >> (5 * (k_time_chars - 1 - i))) & 31]);
  }
  id.append(k_random_chars, '0');
  return id;
}

// A client's Last-Event-ID in the canonical (upper-case) form, or empty when it is
// not an event id this relay could have issued.
std::string
canonical_event_id(std::string_view text)
{
  if (text.size() != 4 + k_time_chars + k_random_chars || text.substr(0, 4) != "evt_" ||
      core::id_time_us(text) < 0) {
    return {};
  }
  std::string id(text);
  for (std::size_t i = 4; i < id.size(); ++i) {
    if (id[i] >= 'a' && id[i] <= 'z') {
      id[i] = static_cast<char>(id[i] - 'a' + 'A');
    }
  }
  return id;
}

} // namespace

void
HeldEvent::append_frame(core::MessageFields fields, std::vector<std::string_view>& out) const
{
  out.emplace_back(frame_start);
  message.append_pieces(fields, out);
  out.emplace_back(core::k_sse_frame_end);
}

std::string
HeldEvent::frame(core::MessageFields fields) const
{
  std::vector<std::string_view> pieces;
  append_frame(fields, pieces);
  std::string out;
  for (const auto piece : pieces) {
    out.append(piece);
  }
  return out;
}

struct RelayHubWaiter
{
  std::condition_variable answered_cv;
  std::optional<core::RelayReply> reply;
};

struct RelayChannel
{
  std::mutex mutex;                  // guards everything below
  std::condition_variable published; // a new event, or the hub was shut down
  std::deque<HeldEventPtr> events;   // ascending ids
  std::size_t bytes = 0;             // sum of the held frames' sizes
  std::string evicted_newest;        // id of the newest event evicted so far
  std::string created_position;      // ids before this were published before it existed
  std::size_t subscribers = 0;
  std::vector<const RelaySubscription*> subscriptions; // the connected ones, for their cursors
  bool refusing = false;                               // the last publish was refused: channel_full
  std::map<std::string, std::shared_ptr<RelayHubWaiter>, std::less<>> waiters;
  std::deque<std::string> answered; // recently answered ids, for 409 to later replies
  bool closed = false;              // the hub was shut down
  bool removed = false;             // swept out of the hub: look the name up again
};

RelaySubscription::RelaySubscription(std::shared_ptr<RelayChannel> channel, std::string ready_id,
                                     std::string cursor, bool gap)
    : m_channel(std::move(channel)), m_ready_id(std::move(ready_id)), m_cursor(std::move(cursor)),
      m_gap(gap)
{}

RelaySubscription::~RelaySubscription()
{
  std::lock_guard lock(m_channel->mutex);
  --m_channel->subscribers;
  auto& subscriptions = m_channel->subscriptions;
  subscriptions.erase(std::find(subscriptions.begin(), subscriptions.end(), this));
}

RelayHub::RelayHub(RelayHubOptions options, core::Clock& clock, core::IdSource& ids)
    : m_options(options), m_clock(clock), m_ids(ids)
{}

RelayHub::~RelayHub() = default;

std::string
RelayHub::position_id(std::int64_t now_us)
{
  // One past the newest issued time: an id issued later has at least that time and a
  // random part above zero, so it sorts after this position.
  return zero_id(std::max(now_us, m_last_issued_us.load() + 1));
}

std::shared_ptr<RelayChannel>
RelayHub::find_locked(const std::string& name, bool create, std::unique_lock<std::mutex>& lock)
{
  while (true) {
    std::shared_ptr<RelayChannel> found;
    {
      std::lock_guard hub_lock(m_mutex);
      const auto it = m_channels.find(name);
      if (it != m_channels.end()) {
        found = it->second;
      } else if (create) {
        found = std::make_shared<RelayChannel>();
        found->created_position = position_id(m_clock.now_us());
        found->closed = m_shut_down;
        m_channels.emplace(name, found);
      } else {
        return nullptr;
      }
    }
    lock = std::unique_lock(found->mutex);
    // A sweep may have dropped the channel between the two locks; its replacement
    // (if any) is in the map.
    if (!found->removed) {
      return found;
    }
    lock.unlock();
  }
}

void
RelayHub::drop_oldest(RelayChannel& channel)
{
  const std::size_t bytes = channel.events.front()->bytes();
  channel.bytes -= bytes;
  m_held.fetch_sub(bytes);
  channel.evicted_newest = channel.events.front()->id;
  channel.events.pop_front();
}

namespace {

// The id up to which every connected subscriber of `channel` has read (its lock is
// held), or null when none is connected: then any event may go.
const std::string*
read_by_all(const RelayChannel& channel)
{
  const std::string* oldest = nullptr;
  for (const RelaySubscription* subscription : channel.subscriptions) {
    if (!oldest || subscription->cursor() < *oldest) {
      oldest = &subscription->cursor();
    }
  }
  return oldest;
}

// True when the channel's oldest event may be evicted: everyone connected has read it.
bool
oldest_evictable(const RelayChannel& channel, const std::string* read_up_to)
{
  return !channel.events.empty() && (!read_up_to || channel.events.front()->id <= *read_up_to);
}

} // namespace

void
RelayHub::evict(RelayChannel& channel, std::int64_t now_us, bool for_incoming, std::size_t incoming)
{
  // Events a connected subscriber has not read stay whatever the bounds say: publishing
  // is refused instead (issue 12: evicting them lost 15% of a burst answered 202).
  const std::string* read_up_to = read_by_all(channel);
  auto evictable = [&] { return oldest_evictable(channel, read_up_to); };
  const std::int64_t oldest_kept = now_us - m_options.backlog_age_us;
  while (evictable() && channel.events.front()->time_us < oldest_kept) {
    drop_oldest(channel);
  }
  const std::size_t extra = for_incoming ? 1 : 0;
  while (evictable() && (for_incoming || channel.events.size() > 1) &&
         (channel.events.size() + extra > m_options.backlog_count ||
          channel.bytes + incoming > m_options.backlog_bytes)) {
    drop_oldest(channel);
  }
}

void
RelayHub::reclaim(std::size_t needed)
{
  std::lock_guard hub_lock(m_mutex);
  for (auto& [name, channel] : m_channels) {
    if (m_held.load() + needed <= m_options.max_held) {
      return;
    }
    std::unique_lock lock(channel->mutex, std::try_to_lock);
    if (!lock.owns_lock()) {
      continue;
    }
    const std::string* read_up_to = read_by_all(*channel);
    while (oldest_evictable(*channel, read_up_to) && m_held.load() + needed > m_options.max_held) {
      drop_oldest(*channel);
    }
  }
}

void
RelayHub::sweep(std::int64_t now_us)
{
  std::lock_guard hub_lock(m_mutex);
  if (now_us - m_last_sweep_us < k_sweep_interval_us) {
    return;
  }
  m_last_sweep_us = now_us;
  for (auto it = m_channels.begin(); it != m_channels.end();) {
    RelayChannel& channel = *it->second;
    // A channel busy with a big publish is left for the next sweep rather than making
    // every other channel wait for it behind the hub's lock.
    std::unique_lock lock(channel.mutex, std::try_to_lock);
    if (!lock.owns_lock()) {
      ++it;
      continue;
    }
    evict(channel, now_us);
    // An idle channel costs memory for nothing; it is created again on next use.
    if (channel.events.empty() && channel.subscribers == 0 && channel.waiters.empty()) {
      channel.removed = true;
      lock.unlock();
      it = m_channels.erase(it);
    } else {
      ++it;
    }
  }
}

namespace {

// An upper bound, roughly, on the bytes the message for `request` holds: the body as
// sent plus its base64, the headers three times (top-level keys, `rag.headers`, and
// the frame) and the fields around them.
std::size_t
estimated_bytes(const core::RelayedRequest& request)
{
  std::size_t head = request.target.size() + request.remote.size();
  for (const auto& [name, value] : request.headers) {
    head += name.size() + value.size() + 8;
  }
  return request.body.size() / 3 * 7 + 3 * head + 1024;
}

} // namespace

RelayPublish
RelayHub::publish(const std::string& channel_name, core::RelayedRequest request, bool await_reply)
{
  sweep(m_clock.now_us());
  RelayPublish result;
  if (m_held.load() + estimated_bytes(request) > m_options.max_held) {
    reclaim(estimated_bytes(request));
  }

  // Serialising a big JSON body builds a tree many times its size: only so many bytes
  // of bodies at once, and one alone whatever its size.
  const std::size_t building = request.body.size();
  {
    std::unique_lock build_lock(m_build_mutex);
    m_build_done.wait(build_lock, [&] {
      return m_building == 0 || m_building + building <= m_options.build_bytes;
    });
    m_building += building;
  }
  struct BuildDone
  {
    RelayHub& hub;
    std::size_t bytes;
    ~BuildDone()
    {
      {
        std::lock_guard build_lock(hub.m_build_mutex);
        hub.m_building -= bytes;
      }
      hub.m_build_done.notify_all();
    }
  } build_done{*this, building};

  std::unique_lock<std::mutex> lock;
  const auto channel = find_locked(channel_name, true, lock);

  // Id, time and insertion under the channel's lock: backlog order is id order.
  auto event = std::make_shared<HeldEvent>();
  event->time_us = m_clock.now_us();
  event->id = m_ids.next("evt", event->time_us);
  const std::int64_t issued_us = core::id_time_us(event->id);
  std::int64_t last = m_last_issued_us.load();
  while (issued_us > last && !m_last_issued_us.compare_exchange_weak(last, issued_us)) {
  }
  request.id = event->id;
  request.time_us = event->time_us;
  request.reply = await_reply ? "/_rag/reply/" + channel_name + "/" + event->id : std::string();
  event->method = request.method;
  event->target = request.target;
  event->body_size = request.body.size();
  event->frame_start = core::format_sse_data_start(event->id);
  event->message = core::RelayMessage(request);
  const std::size_t bytes = event->bytes();

  // Make room among what everyone has read; what is left is unread, and an event that
  // does not fit beside it is refused (an empty channel takes any one event).
  evict(*channel, event->time_us, true, bytes);
  const bool channel_full =
      !channel->events.empty() &&
      (channel->events.size() + 1 > m_options.backlog_count ||
       channel->bytes + bytes > m_options.backlog_bytes ||
       channel->events.front()->time_us < event->time_us - m_options.backlog_age_us);
  if (channel_full) {
    result.refused = RelayPublish::Refusal::channel_full;
    result.started_refusing = !channel->refusing;
    channel->refusing = true;
    return result;
  }
  // Nothing held anywhere: any one event fits.
  const std::size_t before = m_held.fetch_add(bytes);
  if (before > 0 && before + bytes > m_options.max_held) {
    m_held.fetch_sub(bytes);
    result.refused = RelayPublish::Refusal::relay_full;
    result.started_refusing = !m_relay_refusing.exchange(true);
    // The estimate made too little room: make what it really needs for the retry.
    lock.unlock();
    reclaim(bytes);
    return result;
  }
  result.channel_resumed = std::exchange(channel->refusing, false);
  result.relay_resumed = m_relay_refusing.exchange(false);

  if (await_reply) {
    channel->waiters.emplace(event->id, std::make_shared<RelayHubWaiter>());
  }
  channel->bytes += bytes;
  channel->events.push_back(event);
  lock.unlock();
  channel->published.notify_all();
  result.event = std::move(event);
  return result;
}

std::unique_ptr<RelaySubscription>
RelayHub::subscribe(const std::string& channel_name, std::string_view last_event_id)
{
  const std::int64_t now_us = m_clock.now_us();
  sweep(now_us);
  std::unique_lock<std::mutex> lock;
  auto channel = find_locked(channel_name, true, lock);

  // Never before the channel's own creation point, which a clock reading taken after
  // `now_us` may have set.
  const std::string position = channel->events.empty()
                                   ? std::max(position_id(now_us), channel->created_position)
                                   : channel->events.back()->id;
  std::string ready = position;
  std::string cursor = position;
  bool gap = false;
  if (std::string resume = canonical_event_id(last_event_id); !resume.empty()) {
    // An id from the future (another relay's clock) must not skip what comes next.
    ready = std::min(resume, position);
    gap = ready < channel->evicted_newest || ready < channel->created_position;
    // The cursor skips what is gone; ready stays, so a client that drops before the
    // replay gets the same warning again.
    cursor = std::max(ready, channel->evicted_newest);
  }
  ++channel->subscribers;
  std::unique_ptr<RelaySubscription> subscription(
      new RelaySubscription(channel, std::move(ready), std::move(cursor), gap));
  channel->subscriptions.push_back(subscription.get());
  return subscription;
}

RelayBatch
RelayHub::next(RelaySubscription& subscription, std::chrono::milliseconds max_wait)
{
  RelayChannel& channel = *subscription.m_channel;
  std::string& cursor = subscription.m_cursor;
  RelayBatch batch;
  std::unique_lock lock(channel.mutex);
  auto ready = [&] {
    return channel.closed || cursor < channel.evicted_newest ||
           (!channel.events.empty() && channel.events.back()->id > cursor);
  };
  if (!ready()) {
    channel.published.wait_for(lock, max_wait, ready);
  }
  if (channel.closed) {
    batch.closed = true;
    return batch;
  }
  if (cursor < channel.evicted_newest) {
    // It fell behind the backlog: what it missed is gone.
    batch.gap = true;
    cursor = channel.evicted_newest;
  }
  auto it = std::upper_bound(
      channel.events.begin(), channel.events.end(), cursor,
      [](const std::string& id, const HeldEventPtr& event) { return id < event->id; });
  batch.events.assign(it, channel.events.end());
  if (!batch.events.empty()) {
    cursor = batch.events.back()->id;
  }
  return batch;
}

RelayAwait
RelayHub::await_reply(const std::string& channel_name, const std::string& id,
                      std::chrono::milliseconds timeout)
{
  RelayAwait result;
  std::unique_lock<std::mutex> lock;
  const auto channel = find_locked(channel_name, false, lock);
  if (!channel) {
    return result;
  }
  const auto it = channel->waiters.find(id);
  if (it == channel->waiters.end()) {
    return result;
  }
  const std::shared_ptr<RelayHubWaiter> waiter = it->second;
  waiter->answered_cv.wait_for(lock, timeout,
                               [&] { return waiter->reply.has_value() || channel->closed; });
  channel->waiters.erase(id);
  if (waiter->reply) {
    result.kind = RelayAwait::Kind::reply;
    result.reply = std::move(*waiter->reply);
    channel->answered.push_back(id);
    while (channel->answered.size() > m_options.answered_memory) {
      channel->answered.pop_front();
    }
  } else if (channel->closed) {
    result.kind = RelayAwait::Kind::shutdown;
  }
  return result;
}

ReplyOutcome
RelayHub::post_reply(const std::string& channel_name, const std::string& id, core::RelayReply reply)
{
  std::unique_lock<std::mutex> lock;
  const auto channel = find_locked(channel_name, false, lock);
  if (!channel) {
    return ReplyOutcome::not_waiting;
  }
  if (const auto it = channel->waiters.find(id); it != channel->waiters.end()) {
    if (it->second->reply) {
      return ReplyOutcome::duplicate;
    }
    it->second->reply = std::move(reply);
    it->second->answered_cv.notify_all();
    return ReplyOutcome::accepted;
  }
  if (std::find(channel->answered.begin(), channel->answered.end(), id) !=
      channel->answered.end()) {
    return ReplyOutcome::duplicate;
  }
  return ReplyOutcome::not_waiting;
}

std::vector<HeldEventPtr>
RelayHub::recent(const std::string& channel_name, std::size_t count)
{
  std::unique_lock<std::mutex> lock;
  const auto channel = find_locked(channel_name, false, lock);
  std::vector<HeldEventPtr> out;
  if (!channel) {
    return out;
  }
  for (auto it = channel->events.rbegin(); it != channel->events.rend() && out.size() < count;
       ++it) {
    out.push_back(*it);
  }
  return out;
}

std::size_t
RelayHub::subscriber_count(const std::string& channel_name)
{
  std::unique_lock<std::mutex> lock;
  const auto channel = find_locked(channel_name, false, lock);
  return channel ? channel->subscribers : 0;
}

std::size_t
RelayHub::channel_count()
{
  std::lock_guard lock(m_mutex);
  return m_channels.size();
}

void
RelayHub::shutdown()
{
  std::lock_guard hub_lock(m_mutex);
  m_shut_down = true;
  for (auto& [name, channel] : m_channels) {
    {
      std::lock_guard lock(channel->mutex);
      channel->closed = true;
      for (auto& [id, waiter] : channel->waiters) {
        waiter->answered_cv.notify_all();
      }
    }
    channel->published.notify_all();
  }
}

} // namespace rag::engine
