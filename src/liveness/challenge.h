// src/liveness/challenge.h — the active challenge: did the customer do the asked actions (blink,
// turn left, turn right, nod), in the asked order, in time, as the same person throughout?
//
// Two layers, so each can be tested alone:
//   1. per frame, measurements from 68-point landmarks (eye aspect ratio, head pose) plus the
//      face descriptor of some frames (LivenessEngine in engine.h does this on images);
//   2. evaluate_challenge(): the sequence logic on those measurements alone (no images).
//
// Directions: "turn_left" is the customer's own left.  In frames as a camera sees the customer
// (not mirrored) that turns the face towards the image's right (HeadPose yaw > 0); set
// ChallengeConfig::mirrored for frames that were mirrored like a selfie preview.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "core/reason.h"
#include "face/quality.h"
#include "face/types.h"

namespace simkyc {

enum class Action { kBlink, kTurnLeft, kTurnRight, kNod };
std::string_view to_string(Action a);                        // "blink", "turn_left", "turn_right", "nod"
std::optional<Action> action_from_string(std::string_view s);
// The reason given when action `a` was asked but not found (e.g. LIVENESS_BLINK_MISSING).
Reason missing_reason(Action a);

// All challenge thresholds in one place.  Defaults measured on real photos (docs/liveness.md).
struct ChallengeConfig {
  // Eyes: the eye aspect ratio (EAR, eye height over width from 68 points, mean of both eyes).
  // The open-eye baseline is a high percentile of the sequence's EARs (most frames are open).
  float ear_closed_ratio = 0.72f;   // closed: EAR < ratio * baseline
  float ear_open_ratio = 0.85f;     // open: EAR >= ratio * baseline
  float ear_min_baseline = 0.18f;   // a baseline below this: eyes never clearly open; no blink counts
  float blink_max_yaw_deg = 15.f;   // a closed-eye frame counts only when roughly facing the camera
  // Head: yaw and pitch relative to the sequence's median pose (the customer's own "straight").
  float turn_yaw_deg = 15.f;        // turned: |yaw - median| >= this, in the asked direction
  float frontal_yaw_deg = 8.f;      // facing the camera: |yaw - median| < this
  float nod_pitch_deg = 12.f;       // nodded: pitch - median >= this (chin down)
  bool mirrored = false;            // frames mirrored left-right (selfie preview)
  // Sequence.
  int min_frames = 6;
  int max_frames = 90;
  std::int64_t max_duration_ms = 20000;   // first to last frame
  std::int64_t max_gap_ms = 2000;         // between consecutive frames
  std::int64_t clock_skew_ms = 120000;    // allowance when checking frames against issue time and deadline
  float max_no_face_fraction = 0.25f;     // more frames without a face: LIVENESS_NO_FACE
  // Same person: cosine similarity of a frame's descriptor to the first frame's (dlib ResNet;
  // frames of one person in one session score > 0.97, different people < 0.96 at FMR 1e-2 on
  // east-asian/ — see docs/liveness.md).
  float min_same_person = 0.93f;
  int embed_every = 5;                    // embed every n-th frame (and the first and last)
};

// What the server asked for.  issued_ms / deadline_ms: Unix ms, 0 = not checked.
struct ChallengeSpec {
  std::vector<Action> actions;
  std::string nonce;
  std::int64_t issued_ms = 0;
  std::int64_t deadline_ms = 0;
};

// Measurements of one frame.
struct FrameMeasure {
  std::int64_t ts_ms = 0;       // capture time, ms (client clock)
  bool face = false;            // false: no face found; the other fields are unset
  int faces = 0;                // faces of comparable size found (> 1: someone else in view)
  float ear = 0.f;              // mean eye aspect ratio of both eyes
  HeadPose pose;                // from 68 points
  Descriptor descriptor;        // empty when this frame was not embedded
};

// Requires: 68-point landmarks (dlib / iBUG layout).  Ensures: >= 0; about 0.25-0.35 for open
// eyes and below about 0.15 for closed ones.
float eye_aspect_ratio(const Landmarks& lm68);
// Head pose from 68 points (eye corners and nose base, as estimate_pose() on 5 points).
HeadPose pose_from_68(const Landmarks& lm68);

struct ChallengeResult {
  bool passed = false;
  std::vector<Reason> reasons;            // empty when passed; each with a customer hint
  std::vector<int> action_frames;         // per asked action, the frame where it was found (-1: not)
  int frames_with_face = 0;
  float ear_baseline = 0.f, yaw_median = 0.f, pitch_median = 0.f;
  float min_similarity = 1.f;             // lowest descriptor similarity to the first face
};

// The sequence logic.  Requires nothing of the frames (any count, any order).
// Ensures: passed iff reasons is empty.  Reasons (several may apply):
//   LIVENESS_FRAMES_INVALID   fewer than min_frames or more than max_frames, timestamps not strictly
//                             increasing, a gap > max_gap_ms, a frame before issued_ms (- skew)
//   LIVENESS_TOO_SLOW         last - first > max_duration_ms, or a frame after deadline_ms (+ skew)
//   LIVENESS_NO_FACE          no face in more than max_no_face_fraction of the frames, or in the first
//   LIVENESS_MULTIPLE_FACES   a frame with more than one face
//   LIVENESS_FACE_CHANGED     an embedded frame below min_same_person to the first embedded frame
//   LIVENESS_<ACTION>_MISSING an asked action found nowhere
//   LIVENESS_WRONG_ORDER      every asked action found, but not in the asked order
// An action counts from a frame facing the camera with open eyes that follows the previous
// action: a blink is a run of closed-eye frames with open eyes before and after; a turn a run of
// frames turned by >= turn_yaw_deg the asked way; a nod a run pitched down by >= nod_pitch_deg.
ChallengeResult evaluate_challenge(std::span<const FrameMeasure> frames, const ChallengeSpec& spec,
                                   const ChallengeConfig& cfg);

// Frame reuse.  frame_digest(): SHA-256 (hex) of a frame's encoded bytes, for the exact check the
// caller makes: store each accepted session's digests and refuse a session whose frames include
// one already stored for another session (or the same digest twice within the session).
// perceptual_hash(): 64-bit difference hash of the decoded frame (9x8 grey thumbnail), for a
// near-duplicate check that survives re-encoding: two frames are "the same picture" when
// hamming(a, b) <= 5.  Consecutive frames of a still customer can also be that close, so use it
// across sessions of different customers, or as evidence for review, not to refuse alone.
std::string frame_digest(std::span<const std::uint8_t> encoded);
std::uint64_t perceptual_hash(const cv::Mat& bgr);
int hamming(std::uint64_t a, std::uint64_t b);

}  // namespace simkyc
