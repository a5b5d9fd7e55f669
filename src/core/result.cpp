#include "core/result.h"

namespace simkyc {
std::string Error::describe() const {
  std::string s(code());
  s += ": ";
  s += info(reason).message;
  if (!detail.empty()) s += " (" + detail + ")";
  return s;
}
}  // namespace simkyc
