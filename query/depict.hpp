#pragma once

#include "common/auth/principal.hpp"
#include "common/http/server.hpp"

#include <optional>
#include <string>

namespace tributary::query {

inline constexpr size_t kMaxDepictSmilesLength = 2000;

struct DepictResult {
    std::optional<std::string> svg;
    std::string error;  // why `smiles` cannot be drawn, when svg is empty
};

// Draws `smiles` as an SVG image of width x height pixels with RDKit's MolDraw2DSVG (2D
// coordinates computed by RDKit's depictor). Never throws for bad input. Thread-safe.
DepictResult DepictSmiles(const std::string& smiles, int width, int height);

// GET /api/v1/research/depict.svg?smiles=...&width=&height= (scope query): image/svg+xml,
// 400 invalid_parameter naming the field when it is missing, too long or not a structure.
void RegisterDepictRoute(common::http::Server& server, common::auth::Authorize authorize);

}  // namespace tributary::query
