#include "util/bytes.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace rag::util;

TEST_CASE("bytes: base64 encodes the RFC 4648 vectors")
{
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(base64_encode(plain) == encoded);
    auto decoded = base64_decode(encoded);
    REQUIRE(decoded.ok());
    CHECK(*decoded == plain);
    // Padding is optional on input.
    std::string unpadded = encoded;
    while (!unpadded.empty() && unpadded.back() == '=') {
      unpadded.pop_back();
    }
    auto decoded_unpadded = base64_decode(unpadded);
    REQUIRE(decoded_unpadded.ok());
    CHECK(*decoded_unpadded == plain);
  }
}

TEST_CASE("bytes: base64 round-trips every byte value and uses + and /")
{
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const auto part = all.substr(all.size() - len);
    auto decoded = base64_decode(base64_encode(part));
    REQUIRE(decoded.ok());
    CHECK(*decoded == part);
  }
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64_encode(std::string("\0\0\0", 3)) == "AAAA");
}

TEST_CASE("bytes: base64 rejects malformed input")
{
  for (const char* bad : {"Zm9v!", "Z", "Zm9vY", "Zg=", "Zg===", "Zm9vYg===", "Zg==Zg==", "Zm 9v",
                          "Zh==", "Zm9=", "=", "===="}) {
    CAPTURE(bad);
    auto decoded = base64_decode(bad);
    CHECK_FALSE(decoded.ok());
    if (!decoded.ok()) {
      CHECK(decoded.error().message.find("invalid base64") == 0);
    }
  }
}

TEST_CASE("bytes: sha256 known answers")
{
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string("\0", 1)) ==
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST_CASE("bytes: hex")
{
  CHECK(hex_encode("") == "");
  CHECK(hex_encode(std::string("\x00\x01\x7f\x80\xff", 5)) == "00017f80ff");
}

TEST_CASE("bytes: UTF-8 validation accepts well-formed text")
{
  for (const std::string& good : {
           std::string(""),
           std::string("plain ascii with \t and \n"),
           std::string("\0", 1),            // NUL is valid UTF-8
           std::string("\xC3\xA9"),         // é
           std::string("\xE2\x82\xAC"),     // €
           std::string("\xF0\x9D\x84\x9E"), // 𝄞
           std::string("\xF4\x8F\xBF\xBF"), // U+10FFFF
           std::string("\xED\x9F\xBF"),     // U+D7FF, just below the surrogates
           std::string("\xEE\x80\x80"),     // U+E000, just above them
           std::string("\xC2\x80"),         // U+0080, smallest 2-byte
           std::string("0123456789abcdef\xC3\xA9"
                       "0123456789"),
       }) {
    CAPTURE(good);
    CHECK(is_valid_utf8(good));
  }
}

TEST_CASE("bytes: UTF-8 validation rejects ill-formed bytes")
{
  for (const std::string& bad : {
           std::string("\xC0\x80"),         // overlong NUL
           std::string("\xC1\xBF"),         // overlong
           std::string("\xE0\x80\x80"),     // overlong 3-byte
           std::string("\xE0\x9F\xBF"),     // overlong 3-byte, top
           std::string("\xF0\x80\x80\x80"), // overlong 4-byte
           std::string("\xF0\x8F\xBF\xBF"), // overlong 4-byte, top
           std::string("\xED\xA0\x80"),     // U+D800 surrogate
           std::string("\xED\xBF\xBF"),     // U+DFFF surrogate
           std::string("\xF4\x90\x80\x80"), // U+110000
           std::string("\xF5\x80\x80\x80"), // beyond any code point
           std::string("\xFF"),
           std::string("\xFE"),
           std::string("\x80"),             // lone continuation
           std::string("\xE2\x82"),         // truncated
           std::string("\xC3"),             // truncated at end
           std::string("\xC3\x28"),         // bad continuation
           std::string("\xE2\x28\xA1"),     // bad continuation
           std::string("\xF0\x9D\x84\x28"), // bad last continuation
           std::string("12345678\xFF"),     // after the 8-byte fast path
           std::string("1234567890123456789\x80"
                       "abcdefgh"),
       }) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_utf8(bad));
  }
}

TEST_CASE("bytes: utf8_replace_invalid keeps good text and marks bad bytes")
{
  CHECK(utf8_replace_invalid("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(utf8_replace_invalid("a\xFF"
                             "b") == "a\xEF\xBF\xBD"
                                     "b");
  CHECK(utf8_replace_invalid("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(is_valid_utf8(utf8_replace_invalid("\xC0\x80\xED\xA0\x80 ok")));
}
