#include "document/regions.h"

#include <array>

namespace simkyc::document {
namespace {
// Province-level divisions (GB/T 2260).  81/82/83 are the codes of the residence permits for
// Hong Kong, Macao and Taiwan residents (GB 11643 structure, address codes 810000/820000/830000).
constexpr std::array kRegions = {
    Region{"11", "Beijing", "北京"},        Region{"12", "Tianjin", "天津"},
    Region{"13", "Hebei", "河北"},          Region{"14", "Shanxi", "山西"},
    Region{"15", "Inner Mongolia", "内蒙古"}, Region{"21", "Liaoning", "辽宁"},
    Region{"22", "Jilin", "吉林"},          Region{"23", "Heilongjiang", "黑龙江"},
    Region{"31", "Shanghai", "上海"},       Region{"32", "Jiangsu", "江苏"},
    Region{"33", "Zhejiang", "浙江"},       Region{"34", "Anhui", "安徽"},
    Region{"35", "Fujian", "福建"},         Region{"36", "Jiangxi", "江西"},
    Region{"37", "Shandong", "山东"},       Region{"41", "Henan", "河南"},
    Region{"42", "Hubei", "湖北"},          Region{"43", "Hunan", "湖南"},
    Region{"44", "Guangdong", "广东"},      Region{"45", "Guangxi", "广西"},
    Region{"46", "Hainan", "海南"},         Region{"50", "Chongqing", "重庆"},
    Region{"51", "Sichuan", "四川"},        Region{"52", "Guizhou", "贵州"},
    Region{"53", "Yunnan", "云南"},         Region{"54", "Xizang", "西藏"},
    Region{"61", "Shaanxi", "陕西"},        Region{"62", "Gansu", "甘肃"},
    Region{"63", "Qinghai", "青海"},        Region{"64", "Ningxia", "宁夏"},
    Region{"65", "Xinjiang", "新疆"},       Region{"71", "Taiwan", "台湾"},
    Region{"81", "Hong Kong", "香港"},      Region{"82", "Macao", "澳门"},
    Region{"83", "Taiwan (residence permit)", "台湾（居住证）"},
};
}  // namespace

std::span<const Region> province_regions() { return kRegions; }

const Region* find_province(std::string_view code) {
  for (const auto& r : kRegions)
    if (r.code == code) return &r;
  return nullptr;
}

}  // namespace simkyc::document
