#include "engine/stop_signal.hpp"

#include "util/terminal.hpp"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <utility>

namespace rag::engine {

namespace {

// How often the helper thread looks at m_done while no signal comes.
constexpr long k_poll_ns = 200'000'000;

} // namespace

void
Stop::request()
{
  std::lock_guard lock(m_mutex);
  m_requested = true;
  m_changed.notify_all();
  if (m_action) {
    m_action();
  }
}

bool
Stop::requested() const
{
  std::lock_guard lock(m_mutex);
  return m_requested;
}

bool
Stop::wait_for(std::chrono::microseconds duration) const
{
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, duration, [this] { return m_requested; });
}

void
Stop::on_stop(std::function<void()> action)
{
  std::lock_guard lock(m_mutex);
  m_action = std::move(action);
  if (m_requested && m_action) {
    m_action();
  }
}

StopSignal::StopSignal()
{
  sigemptyset(&m_set);
  sigaddset(&m_set, SIGINT);
  sigaddset(&m_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &m_set, nullptr);
  m_thread = std::thread([this] {
    const timespec poll{0, k_poll_ns};
    bool signalled = false;
    while (!m_done.load()) {
      // A timed wait, so that the destructor can end this thread without a signal.
      if (sigtimedwait(&m_set, nullptr, &poll) < 0) {
        continue; // EAGAIN (time is up) or EINTR
      }
      if (signalled) {
        util::write_line(stderr, "\nrag: interrupted twice: quitting without waiting");
        std::_Exit(130);
      }
      signalled = true;
      m_stop.request();
    }
  });
}

StopSignal::~StopSignal()
{
  m_done = true;
  m_thread.join();
}

SignalDeferral::SignalDeferral()
{
  sigset_t block;
  sigemptyset(&block);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
    sigaddset(&block, signal);
  }
  pthread_sigmask(SIG_BLOCK, &block, &m_old);
}

SignalDeferral::~SignalDeferral()
{
  pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
}

} // namespace rag::engine
