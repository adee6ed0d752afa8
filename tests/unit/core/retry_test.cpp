#include "core/retry.hpp"

#include <doctest/doctest.h>

using namespace rag::core;
using std::chrono::milliseconds;

TEST_CASE("retry: which statuses are retried")
{
  for (int status : {408, 425, 429, 500, 502, 503, 504, 599}) {
    CAPTURE(status);
    CHECK(is_retryable_status(status));
  }
  for (int status : {200, 201, 204, 301, 400, 401, 404, 409, 422}) {
    CAPTURE(status);
    CHECK_FALSE(is_retryable_status(status));
  }
}

TEST_CASE("retry: exponential backoff with jitter, capped")
{
  // random01 = 0.999.. gives the full step, 0 gives half of it.
  CHECK(backoff_delay(1, 0.999999) == milliseconds(199));
  CHECK(backoff_delay(1, 0.0) == milliseconds(100));
  CHECK(backoff_delay(2, 0.0) == milliseconds(200));
  CHECK(backoff_delay(3, 0.0) == milliseconds(400));
  CHECK(backoff_delay(30, 0.0) == milliseconds(5000)); // cap 10 s, jitter floor 1/2
  CHECK(backoff_delay(30, 0.999999) <= milliseconds(10'000));
  for (int retry = 1; retry < 12; ++retry) {
    CHECK(backoff_delay(retry + 1, 0.0) >= backoff_delay(retry, 0.0));
  }
}

TEST_CASE("retry: Retry-After in seconds is honoured when within the cap")
{
  CHECK(backoff_delay(1, 0.0, {{"retry-after", "3"}}) == milliseconds(3000));
  CHECK(backoff_delay(1, 0.0, {{"Retry-After", "0"}}) == milliseconds(0));
  // Too long, or an HTTP date: ignored, normal backoff.
  CHECK(backoff_delay(1, 0.0, {{"Retry-After", "3600"}}) == milliseconds(100));
  CHECK(backoff_delay(1, 0.0, {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}) ==
        milliseconds(100));
}
