#include "util/bytes.hpp"
#include "util/hmac.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using rag::util::HashAlgorithm;
using rag::util::hex_encode;
using rag::util::hmac;

namespace {

// One RFC 4231 (SHA-2) / RFC 2202 (SHA-1) test case; every digest below was also
// computed with `openssl dgst -<algo> -mac HMAC -macopt hexkey:...`.
struct Vector
{
  std::string key;
  std::string data;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};

std::vector<Vector>
vectors()
{
  std::string key4;
  for (char c = 0x01; c <= 0x19; ++c) {
    key4.push_back(c);
  }
  return {
      // Test case 1
      {std::string(20, '\x0b'), "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
       "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      // Test case 2: a key shorter than the output
      {"Jefe", "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      // Test case 3: 50 bytes of 0xdd under 20 bytes of 0xaa
      {std::string(20, '\xaa'), std::string(50, '\xdd'), "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
       "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
      // Test case 4: 50 bytes of 0xcd under the key 0x01..0x19
      {key4, std::string(50, '\xcd'), "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
       "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
       "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
  };
}

} // namespace

TEST_CASE("hmac: RFC 4231 test cases 1-4 (SHA-256, SHA-512) and their SHA-1 answers")
{
  int n = 0;
  for (const auto& v : vectors()) {
    CAPTURE(++n);
    CHECK(hex_encode(hmac(HashAlgorithm::sha256, v.key, v.data)) == v.sha256);
    CHECK(hex_encode(rag::util::hmac_sha256(v.key, v.data)) == v.sha256);
    CHECK(hex_encode(hmac(HashAlgorithm::sha512, v.key, v.data)) == v.sha512);
    CHECK(hex_encode(hmac(HashAlgorithm::sha1, v.key, v.data)) == v.sha1);
  }
}

TEST_CASE("hmac: a one-byte change in key or message changes the digest")
{
  for (const auto& v : vectors()) {
    std::string key = v.key;
    key[0] = static_cast<char>(key[0] ^ 1);
    std::string data = v.data;
    data.back() = static_cast<char>(data.back() ^ 1);
    CHECK(hex_encode(hmac(HashAlgorithm::sha256, key, v.data)) != v.sha256);
    CHECK(hex_encode(hmac(HashAlgorithm::sha256, v.key, data)) != v.sha256);
    CHECK(hex_encode(hmac(HashAlgorithm::sha1, v.key, data)) != v.sha1);
    CHECK(hex_encode(hmac(HashAlgorithm::sha512, v.key, data)) != v.sha512);
  }
}

TEST_CASE("hmac: empty key and empty message, digest sizes")
{
  // openssl dgst -sha256 -hmac '' </dev/null
  CHECK(hex_encode(hmac(HashAlgorithm::sha256, "", "")) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(hmac(HashAlgorithm::sha1, "k", "m").size() == rag::util::digest_size(HashAlgorithm::sha1));
  CHECK(hmac(HashAlgorithm::sha256, "k", "m").size() == 32);
  CHECK(hmac(HashAlgorithm::sha512, "k", "m").size() == 64);
  // A key longer than the block size is hashed first; it still works.
  CHECK(hmac(HashAlgorithm::sha256, std::string(200, 'k'), "m").size() == 32);
  CHECK(rag::util::algorithm_name(HashAlgorithm::sha512) == "sha512");
}

TEST_CASE("hmac: constant_time_equals compares bytes and lengths")
{
  using rag::util::constant_time_equals;
  CHECK(constant_time_equals("", ""));
  CHECK(constant_time_equals("abc", "abc"));
  CHECK_FALSE(constant_time_equals("abc", "abd"));
  CHECK_FALSE(constant_time_equals("abc", "ab"));
  CHECK_FALSE(constant_time_equals("", "a"));
  CHECK(constant_time_equals(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
}
