#include "cli/secret_arg.hpp"
#include "core/signature.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace rag;

TEST_CASE("secret_arg: secrets from env: and file:")
{
  ::setenv("RAG_SIG_TEST_SECRET", "from-env", 1);
  ::unsetenv("RAG_SIG_TEST_UNSET");
  auto spec = core::parse_signature_spec("stripe=env:RAG_SIG_TEST_SECRET", cli::resolve_secret_arg);
  REQUIRE(spec.ok());
  CHECK(spec->secret == "from-env");
  spec = core::parse_signature_spec("stripe=env:RAG_SIG_TEST_UNSET", cli::resolve_secret_arg);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.error().message == "environment variable RAG_SIG_TEST_UNSET is not set");
  ::unsetenv("RAG_SIG_TEST_SECRET");

  char pattern[] = "/tmp/rag-sig-test.XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  REQUIRE(dir != nullptr);
  const std::string path = std::string(dir) + "/secret";
  std::ofstream(path) << "from file\n";
  spec = core::parse_signature_spec("slack=file:" + path, cli::resolve_secret_arg);
  REQUIRE(spec.ok());
  CHECK(spec->secret == "from file"); // the trailing newline is not part of it
  std::ofstream(path) << "crlf\r\n\n";
  auto secret = cli::resolve_secret_arg("file:" + path);
  REQUIRE(secret.ok());
  CHECK(*secret == "crlf\r\n"); // only one trailing newline goes
  std::ofstream(path) << "\n";
  secret = cli::resolve_secret_arg("file:" + path);
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().message.find(path) != std::string::npos);
  const std::string missing = std::string(dir) + "/missing";
  secret = cli::resolve_secret_arg("file:" + missing);
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().message == "cannot read the secret file '" + missing + "'");
  std::filesystem::remove_all(dir);
}

TEST_CASE("secret_arg: env: set, empty, unset and nameless")
{
  ::setenv("RAG_SECRET_ARG_TEST", "s3cret=with=equals", 1);
  auto secret = cli::resolve_secret_arg("env:RAG_SECRET_ARG_TEST");
  REQUIRE(secret.ok());
  CHECK(*secret == "s3cret=with=equals");

  ::setenv("RAG_SECRET_ARG_TEST", "", 1);
  secret = cli::resolve_secret_arg("env:RAG_SECRET_ARG_TEST");
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().exit_code == 2);
  CHECK(secret.error().message == "environment variable RAG_SECRET_ARG_TEST is empty");
  CHECK(secret.error().hint == "export RAG_SECRET_ARG_TEST=... with the webhook secret");

  ::unsetenv("RAG_SECRET_ARG_TEST");
  secret = cli::resolve_secret_arg("env:RAG_SECRET_ARG_TEST");
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().exit_code == 2);
  CHECK(secret.error().message == "environment variable RAG_SECRET_ARG_TEST is not set");

  secret = cli::resolve_secret_arg("env:");
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().message == "empty variable name in secret 'env:'");
}

TEST_CASE("secret_arg: file: ok, empty and missing; anything else is the secret itself")
{
  const test::TempDir dir;
  const std::string path = dir.path() + "/secret";
  std::ofstream(path, std::ios::binary) << "line one\nline two";
  auto secret = cli::resolve_secret_arg("file:" + path);
  REQUIRE(secret.ok());
  CHECK(*secret == "line one\nline two"); // no trailing newline: nothing removed
  std::ofstream(path, std::ios::binary) << "crlf\r\n";
  secret = cli::resolve_secret_arg("file:" + path);
  REQUIRE(secret.ok());
  CHECK(*secret == "crlf");

  std::ofstream(path, std::ios::binary) << "";
  secret = cli::resolve_secret_arg("file:" + path);
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().exit_code == 2);
  CHECK(secret.error().message == "the secret file '" + path + "' is empty");

  const std::string missing = dir.path() + "/missing";
  secret = cli::resolve_secret_arg("file:" + missing);
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().exit_code == 1);
  CHECK(secret.error().hint == "check the path and its permissions");

  secret = cli::resolve_secret_arg("plain-secret");
  REQUIRE(secret.ok());
  CHECK(*secret == "plain-secret");
  secret = cli::resolve_secret_arg("");
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().message == "empty secret");
  // Core never reads the environment: without the resolver env: is the secret's text.
  ::setenv("RAG_SECRET_ARG_TEST", "from-env", 1);
  auto spec = core::parse_signature_spec("github=env:RAG_SECRET_ARG_TEST");
  REQUIRE(spec.ok());
  CHECK(spec->secret == "env:RAG_SECRET_ARG_TEST");
  ::unsetenv("RAG_SECRET_ARG_TEST");
}
