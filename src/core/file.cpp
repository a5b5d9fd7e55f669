#include "core/file.h"

#include <sodium.h>

#include <fstream>
#include <system_error>

namespace simkyc {

Result<Bytes> read_file_limited(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return make_error(Reason::kIoError, "is a directory");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(Reason::kIoError, "cannot open file");
  if (size > max_bytes)
    return make_error(Reason::kImageTooLarge,
                      std::to_string(size) + " bytes > limit " + std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Reason::kIoError, "cannot open file");
  Bytes data(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size)))
    return make_error(Reason::kIoError, "short read");
  return data;
}

Result<std::string> read_text_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  auto bytes = read_file_limited(path, max_bytes);
  if (!bytes) return bytes.error();
  return std::string(bytes->begin(), bytes->end());
}

std::string sha256_hex(std::span<const std::uint8_t> data) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, data.data(), data.size());   // needs no sodium_init()
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}

}  // namespace simkyc
