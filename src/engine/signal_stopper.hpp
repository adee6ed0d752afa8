#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace rag::engine {

// Turns SIGINT/SIGTERM into a clean stop: blocks both in the constructing thread (so
// construct it before starting any other thread, which then inherit the mask) and
// runs `on_signal` once, on a helper thread, when the first one arrives; a second
// signal ends the process at once (exit code 130), for a stop that hangs.
class SignalStopper
{
public:
  explicit SignalStopper(std::function<void()> on_signal);
  // Stops the helper thread (a signal that comes later stays blocked).
  ~SignalStopper();
  SignalStopper(const SignalStopper&) = delete;
  SignalStopper& operator=(const SignalStopper&) = delete;

  // True once a signal arrived.
  bool signalled() const { return m_signalled.load(); }

private:
  sigset_t m_set{};
  std::atomic<bool> m_done{false};
  std::atomic<bool> m_signalled{false};
  std::thread m_thread;
};

} // namespace rag::engine
