// src/document/regions.h — province-level region codes of GB/T 2260, as used in the first two
// digits of a resident ID number (GB 11643-1999).  The table lives in regions.cpp, nowhere else.
#pragma once
#include <span>
#include <string_view>

namespace simkyc::document {

struct Region {
  std::string_view code;     // two digits, e.g. "11"
  std::string_view name_en;  // e.g. "Beijing"
  std::string_view name_zh;  // UTF-8, e.g. "北京"
};

// Ensures: the table sorted by code; codes unique, two ASCII digits each.
std::span<const Region> province_regions();

// Requires: nothing (any input).  Ensures: the entry whose code equals `code`, or nullptr.
const Region* find_province(std::string_view code);

}  // namespace simkyc::document
