#include "util/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace rag::util {

namespace {

const EVP_MD*
digest_of(HashAlgorithm algorithm)
{
  switch (algorithm) {
  case HashAlgorithm::sha1: return EVP_sha1();
  case HashAlgorithm::sha256: return EVP_sha256();
  case HashAlgorithm::sha512: return EVP_sha512();
  }
  return EVP_sha256();
}

} // namespace

std::size_t
digest_size(HashAlgorithm algorithm)
{
  switch (algorithm) {
  case HashAlgorithm::sha1: return 20;
  case HashAlgorithm::sha256: return 32;
  case HashAlgorithm::sha512: return 64;
  }
  return 32;
}

std::string_view
algorithm_name(HashAlgorithm algorithm)
{
  switch (algorithm) {
  case HashAlgorithm::sha1: return "sha1";
  case HashAlgorithm::sha256: return "sha256";
  case HashAlgorithm::sha512: return "sha512";
  }
  return "sha256";
}

std::string
hmac(HashAlgorithm algorithm, std::string_view key, std::string_view message)
{
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  // A non-null pointer even for empty inputs: OpenSSL treats a null key as "reuse
  // the previous key", which a one-shot call does not have.
  static const unsigned char k_empty[1] = {0};
  const void* key_ptr = key.empty() ? static_cast<const void*>(k_empty) : key.data();
  const auto* data_ptr =
      message.empty() ? k_empty : reinterpret_cast<const unsigned char*>(message.data());
  if (HMAC(digest_of(algorithm), key_ptr, static_cast<int>(key.size()), data_ptr, message.size(),
           out, &out_len) == nullptr) {
    // Only an OpenSSL internal failure (allocation) gets here; an empty digest never
    // compares equal to a real one, so verification fails closed.
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string
hmac_sha256(std::string_view key, std::string_view message)
{
  return hmac(HashAlgorithm::sha256, key, message);
}

bool
constant_time_equals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace rag::util
