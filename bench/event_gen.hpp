#pragma once
// Synthetic events shared by the load generator and the raw-ceiling tools, so that every
// measurement of a run moves the same bytes. Text is built by appending, not with a JSON
// library: the generators must cost as little CPU as possible on the machine they measure.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tributary::bench {

inline constexpr std::array<std::string_view, 6> kEventTypes = {
    "page_view", "click", "sign_up", "purchase", "add_to_cart", "search"};
inline constexpr std::array<std::string_view, 5> kPages = {"/", "/dashboard", "/pricing",
                                                           "/docs/getting-started", "/checkout"};
inline constexpr std::array<std::string_view, 3> kDevices = {"desktop", "mobile", "tablet"};
inline constexpr std::array<std::string_view, 4> kOs = {"linux", "macos", "windows", "ios"};
inline constexpr std::array<std::string_view, 3> kBrowsers = {"firefox", "chrome", "safari"};
inline constexpr std::array<std::string_view, 6> kCountries = {"DE", "FR", "US", "GB", "JP",
                                                               "BR"};

struct Molecule {
    std::string_view name;
    std::string_view smiles;
};
inline constexpr std::array<Molecule, 8> kMolecules = {{
    {"Aspirin", "CC(=O)Oc1ccccc1C(=O)O"},
    {"Caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"},
    {"Ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"},
    {"Paracetamol", "CC(=O)Nc1ccc(O)cc1"},
    {"Ethanol", "CCO"},
    {"Benzene", "c1ccccc1"},
    {"Glucose", "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O"},
    {"Nicotine", "CN1CCC[C@H]1c1cccnc1"},
}};

// Number of distinct users the analytics events are spread over.
inline constexpr uint64_t kUsers = 10000;

inline void AppendEventId(std::string& out, std::string_view prefix, uint64_t seq) {
    out += prefix;
    out += '-';
    out += std::to_string(seq);
}

// One analytics event as JSON text, padded (metadata.pad) to about `target_bytes`.
// `sent_at_us` (wall clock, microseconds) goes into metadata.sent_at_us so that the
// send-to-stored latency can be computed in SQL; 0 leaves it out.
inline void AppendAnalyticsEvent(std::string& out, std::string_view prefix, uint64_t seq,
                                 size_t target_bytes, int64_t sent_at_us) {
    const size_t start = out.size();
    const uint64_t user = (seq * 7919) % kUsers;
    out += R"({"event_id":")";
    AppendEventId(out, prefix, seq);
    out += R"(","user_id":"user_)";
    out += std::to_string(user);
    out += R"(","event_type":")";
    out += kEventTypes[seq % kEventTypes.size()];
    out += R"(","session_id":"s-)";
    out += std::to_string(user);
    out += '-';
    out += std::to_string(seq / 50000);
    out += R"(","context":{"device":{"type":")";
    out += kDevices[seq % kDevices.size()];
    out += R"(","os":")";
    out += kOs[seq % kOs.size()];
    out += R"(","browser":")";
    out += kBrowsers[seq % kBrowsers.size()];
    out += R"("},"country":")";
    out += kCountries[seq % kCountries.size()];
    out += R"("},"metadata":{"page":")";
    out += kPages[seq % kPages.size()];
    out += R"(","source":"web")";
    if (sent_at_us > 0) {
        out += R"(,"sent_at_us":)";
        out += std::to_string(sent_at_us);
    }
    const size_t so_far = out.size() - start + 12;  // + ,"pad":"" }}
    if (target_bytes > so_far) {
        out += R"(,"pad":")";
        out.append(target_bytes - so_far, 'x');
        out += '"';
    }
    out += "}}";
}

// The same event as AppendAnalyticsEvent, as a Segment track message (what an SDK sends to
// /v1/batch): messageId, userId, event, context with device/os/location, properties.
inline void AppendSegmentTrack(std::string& out, std::string_view prefix, uint64_t seq,
                               size_t target_bytes, int64_t sent_at_us) {
    const size_t start = out.size();
    const uint64_t user = (seq * 7919) % kUsers;
    out += R"({"type":"track","messageId":")";
    AppendEventId(out, prefix, seq);
    out += R"(","userId":"user_)";
    out += std::to_string(user);
    out += R"(","event":")";
    out += kEventTypes[seq % kEventTypes.size()];
    out += R"(","context":{"device":{"type":")";
    out += kDevices[seq % kDevices.size()];
    out += R"("},"os":{"name":")";
    out += kOs[seq % kOs.size()];
    out += R"("},"location":{"country":")";
    out += kCountries[seq % kCountries.size()];
    out += R"("},"library":{"name":"tributary-loadgen"}},"properties":{"page":")";
    out += kPages[seq % kPages.size()];
    out += R"(","source":"web")";
    if (sent_at_us > 0) {
        out += R"(,"sent_at_us":)";
        out += std::to_string(sent_at_us);
    }
    const size_t so_far = out.size() - start + 12;  // + ,"pad":"" }}
    if (target_bytes > so_far) {
        out += R"(,"pad":")";
        out.append(target_bytes - so_far, 'x');
        out += '"';
    }
    out += "}}";
}

// One chemical research record (SMILES validated by the publisher, descriptors computed by
// the subscriber, notes given to enrichment).
inline void AppendChemicalRecord(std::string& out, std::string_view prefix, uint64_t seq,
                                 size_t target_bytes, int64_t sent_at_us) {
    const size_t start = out.size();
    const Molecule& m = kMolecules[seq % kMolecules.size()];
    out += R"({"event_id":")";
    AppendEventId(out, prefix, seq);
    out += R"(","molecule_id":"mol-)";
    out += std::to_string(seq % 5000);
    out += R"(","researcher":"Dr. Bench )";
    out += std::to_string(seq % 50);
    out += R"(","data":{"name":")";
    out += m.name;
    out += R"(","smiles":")";
    out += m.smiles;
    out += R"(","measurements":{"yield_pct":)";
    out += std::to_string(50 + seq % 50);
    if (sent_at_us > 0) {
        out += R"(,"sent_at_us":)";
        out += std::to_string(sent_at_us);
    }
    out += R"(},"notes":"white crystalline powder, mp 135 C, soluble in ethanol)";
    const size_t so_far = out.size() - start + 3;
    if (target_bytes > so_far) out.append(target_bytes - so_far, '.');
    out += "\"}}";
}

}  // namespace tributary::bench
