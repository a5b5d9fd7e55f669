// src/core/file.h — reading untrusted files with a size limit.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace simkyc {

using Bytes = std::vector<std::uint8_t>;

// Reads the whole file at `path`.
// Requires: max_bytes > 0.
// Ensures: on success, 1..max_bytes bytes.  Errors: kIoError (missing, unreadable, a directory),
// kImageEmpty is NOT used here: an empty file yields an empty vector; kImageTooLarge when the
// file is larger than max_bytes (checked from the file size before reading).
Result<Bytes> read_file_limited(const std::filesystem::path& path, std::uintmax_t max_bytes);

// Reads a whole text file (for small config and list files).  Errors: kIoError.
Result<std::string> read_text_file(const std::filesystem::path& path,
                                   std::uintmax_t max_bytes = 64u << 20);

// SHA-256 of `data` as 64 lower-case hex digits (libsodium).
std::string sha256_hex(std::span<const std::uint8_t> data);

}  // namespace simkyc
