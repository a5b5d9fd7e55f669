// tools/fusion/descriptor_cache.h — every image of an evaluation set embedded once per descriptor
// variant (embedder + chip), as the image and as its mirror, saved to one file so that score
// experiments (tools/fusion/fusion_tool.cpp) take seconds instead of minutes of embedding.
#pragma once
#include <filesystem>
#include <string>
#include <array>
#include <vector>

#include "core/result.h"
#include "face/types.h"
#include "match/evaluation.h"

namespace simkyc::fusion {

// One descriptor variant: an embedder id and, for box-chip embedders, the margin (fraction of
// the box side added in total, half a side; < 0: the embedder's own default).
struct Variant {
  std::string name;        // e.g. "faceres_m0.2"
  std::string embedder;    // make_embedder id
  double box_margin = -1;
  int dims = 0;
};

// Parses "ID" or "ID:MARGIN" (e.g. "faceres_v1:0.2").  Errors: kUsage.
Result<Variant> parse_variant(const std::string& spec);

struct DescriptorSet {
  std::string data;                       // the folder or pair list it was made from
  std::vector<std::string> images;        // paths as given
  std::vector<int> person;                // index into people, -1 for pair lists
  std::vector<std::string> people;
  std::vector<Pair> pairs;                // the set's pairs (folders: all genuine + impostor)
  std::vector<char> ok;                   // enrolled (face found) per image
  std::vector<Variant> variants;
  // desc[v][i][0] = descriptor of image i, desc[v][i][1] = of its mirrored chip (unit length;
  // empty when !ok[i]).
  std::vector<std::vector<std::array<Descriptor, 2>>> desc;

  int variant_index(const std::string& name) const;   // -1 when absent
};

// Detect (hog+mmod), 5 landmarks (and the 68-point ones when a variant's chip is "arcface"), then per variant: chip, embed, embed the mirrored chip.
// Errors: kModelError, kUsage, kIoError.
Result<DescriptorSet> embed_set(const std::filesystem::path& model_dir, const std::string& folders,
                                const std::string& pair_list, const std::vector<Variant>& variants, int threads);

// Binary file: "SKDESC1\n", u64 header length, JSON header, then float32 little-endian blocks.
Status save(const DescriptorSet& s, const std::filesystem::path& file);
Result<DescriptorSet> load(const std::filesystem::path& file);

}  // namespace simkyc::fusion
