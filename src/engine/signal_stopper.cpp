#include "engine/signal_stopper.hpp"

#include <pthread.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <utility>

namespace rag::engine {

namespace {

// How often the helper thread looks at m_done while no signal comes.
constexpr long k_poll_ns = 200'000'000;

} // namespace

SignalStopper::SignalStopper(std::function<void()> on_signal)
{
  sigemptyset(&m_set);
  sigaddset(&m_set, SIGINT);
  sigaddset(&m_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &m_set, nullptr);
  m_thread = std::thread([this, on_signal = std::move(on_signal)] {
    const timespec poll{0, k_poll_ns};
    while (!m_done.load()) {
      // A timed wait, so that the destructor can end this thread without a signal.
      const int signal = sigtimedwait(&m_set, nullptr, &poll);
      if (signal < 0) {
        continue; // EAGAIN (time is up) or EINTR
      }
      if (m_signalled.exchange(true)) {
        std::_Exit(130);
      }
      if (on_signal) {
        on_signal();
      }
    }
  });
}

SignalStopper::~SignalStopper()
{
  m_done = true;
  m_thread.join();
}

} // namespace rag::engine
