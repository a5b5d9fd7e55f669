// src/face/fusion_model.h — a descriptor made of other embedders' descriptors (issue 7): each part
// embeds its own chip (optionally averaged with the mirrored chip), the unit-length parts are
// scaled by their weights and concatenated, centred and multiplied by a learned projection
// (LDA/WCCN fitted on East Asian identities by tools/fusion), and normalised to unit length.
//
// Cosine similarity of two such descriptors is then the fused score:
//   - with no projection, weights w_p = 1/sqrt(sd_p) give cos = sum_p s_p/sd_p / sum_p 1/sd_p,
//     i.e. z-score fusion of the parts' cosines (sd_p: impostor-score spread of part p);
//   - with a projection, the cosine in the learned space.
// The model file is JSON (models/fusion/<id>.json, listed in models/manifest.json with
// "in_repo": true and its SHA-256).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "face/types.h"

namespace simkyc {

struct FusionPart {
  std::string embedder;     // make_embedder id, e.g. "dlib_resnet_v1", "faceres_v1"
  double box_margin = -1;   // box-chip embedders: margin (fraction of the box side, total); < 0: default
  bool flip = false;        // average the descriptors of the chip and its mirror image
  float weight = 1.f;
};

// y = normalise(matrix^T (x - mean)); matrix is in_dims x out_dims, row-major.
struct LinearProjection {
  int in_dims = 0, out_dims = 0;
  std::vector<float> mean;     // in_dims
  std::vector<float> matrix;   // in_dims * out_dims
  bool empty() const { return matrix.empty(); }
};

struct FusionModel {
  std::string id, version = "1";
  std::vector<FusionPart> parts;
  std::vector<int> part_dims;         // descriptor length of each part
  LinearProjection projection;        // empty: identity (plain weighted concatenation)
  nlohmann::json provenance;          // data, command, created, cross-validated figures

  int in_dims() const;
  int dims() const { return projection.empty() ? in_dims() : projection.out_dims; }

  // Requires: one unit-length descriptor per part (flip-averaged and renormalised when the
  // part flips), of part_dims[p] floats.
  // Ensures: unit-length descriptor of dims() floats.  Errors: kInternal on a size mismatch.
  Result<Descriptor> combine(const std::vector<Descriptor>& parts) const;
};

// Float vectors are stored as base64 of little-endian float32 ("f32le-base64").
nlohmann::json to_json(const FusionModel& m);
// Errors: kModelError when the JSON is not a valid model.
Result<FusionModel> fusion_model_from_json(const nlohmann::json& j);
// Errors: kModelError (unreadable, bad JSON, or SHA-256 different from `expected_sha256` when given).
Result<FusionModel> load_fusion_model(const std::filesystem::path& file, const std::string& expected_sha256 = {});

// Unit-length mean of a descriptor and its mirror's (the flip test-time augmentation).
Descriptor average_unit(const Descriptor& a, const Descriptor& b);

}  // namespace simkyc
