#pragma once

// Ctrl-C, in one place. A Stop is the in-process half (a flag that one thread sets and
// others wait on or react to), usable in tests without any signal; a StopSignal turns
// SIGINT/SIGTERM into a Stop; a SignalDeferral holds signals back around a step that
// must not be cut in half.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>
#include <thread>

namespace rag::engine {

// A stop request: set once, never cleared. Safe to use from any thread.
class Stop
{
public:
  // Request the stop: wake every waiter and run the on_stop() action (under the lock, so
  // that on_stop() can replace the action before what it touches goes away).
  void request();

  // Return true once a stop was requested.
  bool requested() const;

  // Wait up to `duration`; return true when a stop was requested (at once if it was).
  bool wait_for(std::chrono::microseconds duration) const;

  // Run `action` when the stop is requested (at once when it was already); an empty
  // function clears it. Only the last action set is kept.
  void on_stop(std::function<void()> action);

private:
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_changed;
  bool m_requested = false;
  std::function<void()> m_action;
};

// Turns SIGINT/SIGTERM into stop().request(): blocks both in the constructing thread
// (construct it before starting any other thread, which then inherit the mask) and
// waits for them on a helper thread. A second signal ends the process at once with exit
// code 130, for a stop that hangs.
class StopSignal
{
public:
  StopSignal();
  // Stops the helper thread (a signal that comes later stays blocked).
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // The stop a first signal requests.
  Stop& stop() { return m_stop; }

private:
  Stop m_stop;
  sigset_t m_set{};
  std::atomic<bool> m_done{false};
  std::thread m_thread;
};

// Holds SIGINT, SIGTERM, SIGHUP and SIGQUIT back in the calling thread until the scope
// ends; one that arrived meanwhile takes effect then (for a rename that a signal must
// not interrupt, leaving a temporary file behind).
class SignalDeferral
{
public:
  SignalDeferral();
  ~SignalDeferral();
  SignalDeferral(const SignalDeferral&) = delete;
  SignalDeferral& operator=(const SignalDeferral&) = delete;

private:
  sigset_t m_old{};
};

} // namespace rag::engine
