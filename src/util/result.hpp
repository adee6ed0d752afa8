#pragma once

#include <string>
#include <utility>
#include <variant>

namespace rag {

// An expected failure: what went wrong, what the user can do about it, and the
// process exit code it maps to when it reaches the top (1 runtime, 2 usage).
struct Error
{
  std::string message;
  std::string hint;
  int exit_code = 1;
};

// Make a runtime error (exit code 1).
inline Error
error(std::string message, std::string hint = {})
{
  return Error{std::move(message), std::move(hint), 1};
}

// Make a usage error (exit code 2).
inline Error
usage_error(std::string message, std::string hint = {})
{
  return Error{std::move(message), std::move(hint), 2};
}

// A value or an Error; expected failures are returned, never thrown.
template<typename T> class [[nodiscard]] Result
{
public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error err) : m_v(std::in_place_index<1>, std::move(err)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(m_v); }

private:
  std::variant<T, Error> m_v;
};

template<> class [[nodiscard]] Result<void>
{
public:
  Result() = default;
  Result(Error err) : m_err(std::move(err)), m_ok(false) {}

  bool ok() const { return m_ok; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return m_err; }

private:
  Error m_err;
  bool m_ok = true;
};

} // namespace rag

// Return the error of a failed Result from the enclosing function.
#define RAG_TRY(expr_)                                                                             \
  do {                                                                                             \
    auto&& rag_try_result_ = (expr_);                                                              \
    if (!rag_try_result_) {                                                                        \
      return rag_try_result_.error();                                                              \
    }                                                                                              \
  } while (false)

#define RAG_CONCAT_INNER_(a_, b_) a_##b_
#define RAG_CONCAT_(a_, b_) RAG_CONCAT_INNER_(a_, b_)

// Declare-or-assign `var_` from a Result, returning its error on failure.
#define RAG_TRY_ASSIGN(var_, expr_) RAG_TRY_ASSIGN_IMPL_(var_, expr_, RAG_CONCAT_(rag_r_, __LINE__))
#define RAG_TRY_ASSIGN_IMPL_(var_, expr_, tmp_)                                                    \
  auto tmp_ = (expr_);                                                                             \
  if (!tmp_) {                                                                                     \
    return tmp_.error();                                                                           \
  }                                                                                                \
  var_ = std::move(tmp_).value()
