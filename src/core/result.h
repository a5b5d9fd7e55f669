// src/core/result.h — errors as values.  A Result<T> holds either a T or an Error with a stable
// Reason and a human detail.  Exceptions never cross a stage boundary: stages catch and convert.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "core/reason.h"

namespace simkyc {

struct Error {
  Reason reason = Reason::kInternal;
  std::string detail;  // extra human context (no personal data)
  std::int64_t retry_after_s = 0;  // kRateLimited: seconds until the lock ends (HTTP Retry-After)
  std::string_view code() const { return simkyc::code(reason); }
  // "CODE: message (detail)"
  std::string describe() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // Requires: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // Requires: !ok().
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

inline Error make_error(Reason r, std::string detail = {}) { return Error{r, std::move(detail)}; }

}  // namespace simkyc
