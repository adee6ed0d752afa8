#pragma once

// Sample records for the record writer and parser tests, and the round trip through both.

#include "core/log/record_parser.hpp"
#include "core/log/record_writer.hpp"
#include "core/record.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <variant>

namespace rag::test {

using core::Delivery;
using core::Event;

// Return an event with a body that needs escaping, an empty header and a query.
inline Event
sample_event()
{
  Event e;
  e.id = "evt_0001";
  e.time_us = 1795675527123456; // 2026-11-26T06:45:27.123456Z
  e.source = "listen:127.0.0.1:7777";
  e.remote = "127.0.0.1:50000";
  e.method = "POST";
  e.target = "/hook?a=1";
  e.http_version = "HTTP/1.1";
  e.headers = {{"Host", "x"}, {"X-Empty", ""}};
  e.body = std::string("hi \"there\"\n\x01");
  return e;
}

// Return a successful first delivery of sample_event() with a text response.
inline Delivery
sample_delivery()
{
  Delivery d;
  d.id = "dlv_0002";
  d.event_id = "evt_0001";
  d.time_us = 1795675527123456;
  d.target = "http://127.0.0.1:3000/hook";
  d.attempt = 1;
  d.replay = false;
  d.status = 200;
  d.duration_us = 1234;
  d.response_headers = {{"Content-Type", "text/plain"}};
  d.response_body = "ok";
  return d;
}

// Return `event` written as a log line and parsed back.
inline Event
round_trip(const Event& event)
{
  const auto line = core::to_json_line(event);
  auto record = core::parse_record(line);
  REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().message));
  REQUIRE(std::holds_alternative<Event>(*record));
  return std::get<Event>(std::move(record).value());
}

// Return `delivery` written as a log line and parsed back.
inline Delivery
round_trip(const Delivery& delivery)
{
  const auto line = core::to_json_line(delivery);
  auto record = core::parse_record(line);
  REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().message));
  REQUIRE(std::holds_alternative<Delivery>(*record));
  return std::get<Delivery>(std::move(record).value());
}

// Check every field of two events for equality.
inline void
check_same(const Event& a, const Event& b)
{
  CHECK(a.id == b.id);
  CHECK(a.time_us == b.time_us);
  CHECK(a.source == b.source);
  CHECK(a.remote == b.remote);
  CHECK(a.method == b.method);
  CHECK(a.target == b.target);
  CHECK(a.http_version == b.http_version);
  CHECK(a.headers == b.headers);
  CHECK(a.body == b.body);
  CHECK(a.chunked == b.chunked);
  CHECK(a.verdict == b.verdict);
  CHECK(a.relay_id == b.relay_id);
  CHECK(a.trailers == b.trailers);
  CHECK(a.rejected == b.rejected);
}

} // namespace rag::test
