// src/match/copy_check.h — is the "live" face a copy of the document portrait?  (issue 13)
// A live capture must be a new photo of the customer.  The same picture as the document
// portrait — the same file, a resized or re-encoded copy, a crop of it — would match itself
// with a score near 1 and PASS.  This compares the two aligned face chips pixel by pixel at low
// resolution: copies of one picture correlate almost perfectly (same light, expression, pose,
// background); two different photos of the same person do not.
#pragma once
#include <vector>

#include <opencv2/core.hpp>

namespace simkyc {

// A compact pixel print of an aligned face chip: the inner face's grey levels at 32x32; cells
// the photo does not cover (the chip reaching past a cropped photo's edge) are -1.  Personal data
// (a tiny face image): keep it sealed, like a template, and drop it with the template.
using ChipPrint = std::vector<float>;

// Requires: an aligned face chip (FaceAnalysis::chip.bgr), 8UC3 or 8UC1, non-empty.
// Ensures: a print of kChipPrintSide^2 values (empty for an empty chip).
inline constexpr int kChipPrintSide = 32;
ChipPrint chip_print(const cv::Mat& chip);

// Ensures: the Pearson correlation of two prints in [-1, 1] over the cells both cover; 0 when
// either is empty, their sizes differ or they share less than half of their cells.
float chip_correlation(const ChipPrint& a, const ChipPrint& b);

// Copies of one picture correlate at or above this (measured by `simkyc copy-check`, figures in
// docs/service.md "The live capture is not the document").
inline constexpr float kCopyMinCorrelation = 0.95f;

// Ensures: true when the live chip's print is a copy of the document chip's print.
inline bool is_document_copy(const ChipPrint& document, const ChipPrint& live) {
  return chip_correlation(document, live) >= kCopyMinCorrelation;
}

}  // namespace simkyc
