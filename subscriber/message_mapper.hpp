#pragma once

#include "storage/records.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace tributary::subscriber {

// Why a message can never be stored; it goes to the dead-letter topic with this reason.
struct PoisonMessage {
    std::string stage;   // "decode" | "validate" | "store"
    std::string reason;
};

using MappedMessage = std::variant<storage::AnalyticsRow, storage::ChemicalRow, PoisonMessage>;

// Turns one Kafka message value into the row to store: decodes the envelope, checks that it
// belongs on `topic`, extracts the analytics dimensions (structured field first, then
// `metadata`, as CONTRACT.md specifies) or computes the RDKit descriptors. Pure apart from
// RDKit; never throws for bad input. Thread-safe.
MappedMessage MapMessage(std::string_view topic, std::string_view value, int32_t partition,
                         int64_t offset);

}  // namespace tributary::subscriber
