#include "engine/stop_signal.hpp"

#include <doctest/doctest.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace std::chrono_literals;

namespace rag::engine {

TEST_CASE("Stop: wait_for times out while no stop is requested")
{
  Stop stop;
  CHECK_FALSE(stop.requested());
  CHECK_FALSE(stop.wait_for(1ms));
}

TEST_CASE("Stop: request wakes a waiter and runs the action once set")
{
  Stop stop;
  int ran = 0;
  stop.on_stop([&ran] { ++ran; });
  std::atomic<bool> woke{false};
  std::thread waiter([&] { woke = stop.wait_for(10s); });
  stop.request();
  waiter.join();
  CHECK(woke.load());
  CHECK(stop.requested());
  CHECK(ran == 1);
  CHECK(stop.wait_for(10s)); // at once, for good
}

TEST_CASE("Stop: an action set after the request runs at once, an empty one clears it")
{
  Stop stop;
  int first = 0;
  int second = 0;
  stop.on_stop([&first] { ++first; });
  stop.on_stop({});
  stop.request();
  CHECK(first == 0);
  stop.on_stop([&second] { ++second; });
  CHECK(second == 1);
}

TEST_CASE("StopSignal: SIGTERM to the process requests the stop instead of ending it")
{
  sigset_t old;
  pthread_sigmask(SIG_SETMASK, nullptr, &old);
  {
    StopSignal signals;
    CHECK_FALSE(signals.stop().requested());
    REQUIRE(::kill(::getpid(), SIGTERM) == 0);
    CHECK(signals.stop().wait_for(10s));
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

} // namespace rag::engine
