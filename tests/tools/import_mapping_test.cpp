#include "tools/import/event_mapping.hpp"
#include "tools/import/ids.hpp"
#include "tools/import/sdf_reader.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tributary::tools::import {
namespace {

const std::string kHead = Sha256Hex("first bytes of a file");

MappingContext Context(Kind kind, std::string researcher = "") {
    return {kind, kHead, std::move(researcher)};
}

nlohmann::json Json(const MappedEvent& mapped) {
    EXPECT_TRUE(mapped.ok()) << mapped.error;
    return nlohmann::json::parse(mapped.json);
}

TEST(DeterministicIds, SameFileLineAndTextGiveTheSameIdAnythingElseAnother) {
    const std::string id = DeterministicEventId(kHead, 7, "{\"user_id\":\"u\"}");
    EXPECT_EQ(id, DeterministicEventId(kHead, 7, "{\"user_id\":\"u\"}"));
    EXPECT_TRUE(id.starts_with("imp-" + kHead.substr(0, 16) + "-7-"));
    EXPECT_LE(id.size(), 100u);
    EXPECT_NE(id, DeterministicEventId(kHead, 8, "{\"user_id\":\"u\"}"));
    EXPECT_NE(id, DeterministicEventId(kHead, 7, "{\"user_id\":\"v\"}"));
    EXPECT_NE(id, DeterministicEventId(Sha256Hex("another file"), 7, "{\"user_id\":\"u\"}"));
    // The separators keep number and text apart.
    EXPECT_NE(DeterministicEventId(kHead, 1, "2x"), DeterministicEventId(kHead, 12, "x"));
    EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(MapJsonLine, AddsAnIdOnlyWhenTheLineHasNone) {
    const auto mapped = Json(MapJsonLine(Context(Kind::kAnalytics), R"({"user_id":"u","event_type":"click"})", 3));
    EXPECT_EQ(mapped["event_id"], DeterministicEventId(kHead, 3, R"({"user_id":"u","event_type":"click"})"));
    EXPECT_EQ(mapped["user_id"], "u");
    EXPECT_EQ(Json(MapJsonLine(Context(Kind::kAnalytics), R"({"event_id":"mine"})", 3))["event_id"], "mine");
    const auto segment = Json(MapJsonLine(Context(Kind::kSegment), R"({"userId":"u","event":"Order Completed"})", 1));
    EXPECT_TRUE(segment.contains("messageId"));
    EXPECT_FALSE(segment.contains("event_id"));
    EXPECT_EQ(segment["type"], "track");
}

TEST(MapJsonLine, RefusesBrokenJsonAndNonObjects) {
    const auto broken = MapJsonLine(Context(Kind::kAnalytics), R"({"user_id":)", 9);
    EXPECT_FALSE(broken.ok());
    EXPECT_NE(broken.error.find("invalid JSON"), std::string::npos);
    const auto array = MapJsonLine(Context(Kind::kAnalytics), "[1,2]", 9);
    EXPECT_NE(array.error.find("not an object"), std::string::npos);
    EXPECT_FALSE(MapJsonLine(Context(Kind::kAnalytics), R"({"x":1e999999})", 1).ok());
}

TEST(MapJsonLine, ChemicalRecordsGetTheDefaultResearcherOrAreRefused) {
    const std::string line = R"({"molecule_id":"m","data":{"smiles":"CCO"}})";
    EXPECT_EQ(Json(MapJsonLine(Context(Kind::kChemical, "Dr. R"), line, 1))["researcher"], "Dr. R");
    const auto refused = MapJsonLine(Context(Kind::kChemical), line, 1);
    EXPECT_EQ(refused.field, "researcher");
    EXPECT_NE(refused.error.find("--researcher"), std::string::npos);
    EXPECT_EQ(Json(MapJsonLine(Context(Kind::kChemical, "Dr. R"),
                               R"({"molecule_id":"m","researcher":"Own","data":{}})", 1))["researcher"],
              "Own");
}

TEST(ParseNumber, TakesJsonNumbersOnly) {
    EXPECT_EQ(ParseNumber("12"), nlohmann::json(12));
    EXPECT_EQ(ParseNumber("-0.5"), nlohmann::json(-0.5));
    EXPECT_EQ(ParseNumber("1e3"), nlohmann::json(1000.0));
    EXPECT_TRUE(ParseNumber("12")->is_number_integer());
    for (const char* text : {"007", "1,5", " 3", "3 ", "NaN", "inf", "", "-", "1.", ".5", "0x10", "1e999"}) {
        EXPECT_EQ(ParseNumber(text), std::nullopt) << text;
    }
}

TEST(CsvMapping, AnalyticsColumnsGoToTheirFieldsContextAndMetadata) {
    std::string error;
    const auto header = CsvHeader({"\xEF\xBB\xBFuser_id", " event_type ", "timestamp", "session_id",
                                   "context.page.path", "amount", "plan", "zip"},
                                  &error);
    ASSERT_TRUE(header) << error;
    const auto event = Json(MapCsvRow(Context(Kind::kAnalytics), *header,
                                      {"u1", "purchase", "2026-01-02T03:04:05Z", "s1", "/buy", "12.5", "pro", "007"},
                                      "text", 2));
    EXPECT_EQ(event["user_id"], "u1");
    EXPECT_EQ(event["event_type"], "purchase");
    EXPECT_EQ(event["timestamp"], "2026-01-02T03:04:05Z");
    EXPECT_EQ(event["session_id"], "s1");
    EXPECT_EQ(event["context"]["page"]["path"], "/buy");
    EXPECT_EQ(event["metadata"]["amount"], 12.5);
    EXPECT_EQ(event["metadata"]["plan"], "pro");
    EXPECT_EQ(event["metadata"]["zip"], "007");
    EXPECT_EQ(event["event_id"], DeterministicEventId(kHead, 2, "text"));
}

TEST(CsvMapping, ChemicalColumnsGoToDataAndNumbersToMeasurements) {
    std::string error;
    const auto header = CsvHeader({"molecule_id", "smiles", "name", "ic50_nm", "state", "researcher"}, &error);
    ASSERT_TRUE(header);
    const auto event = Json(MapCsvRow(Context(Kind::kChemical, "Dr. D"), *header,
                                      {"m1", "CCO", "123", "45.6", "liquid", ""}, "t", 2));
    EXPECT_EQ(event["molecule_id"], "m1");
    EXPECT_EQ(event["researcher"], "Dr. D");  // the empty cell is left out
    EXPECT_EQ(event["data"]["smiles"], "CCO");
    EXPECT_EQ(event["data"]["name"], "123");
    EXPECT_EQ(event["data"]["measurements"]["ic50_nm"], 45.6);
    EXPECT_EQ(event["data"]["state"], "liquid");
}

TEST(CsvMapping, WrongFieldCountAndBadHeadersAreRefused) {
    std::string error;
    EXPECT_FALSE(CsvHeader({"a", "a"}, &error));
    EXPECT_NE(error.find("'a' twice"), std::string::npos);
    EXPECT_FALSE(CsvHeader({"a", " "}, &error));
    const auto mapped = MapCsvRow(Context(Kind::kAnalytics), {"a", "b"}, {"1"}, "1", 5);
    EXPECT_NE(mapped.error.find("has 1 fields, the header has 2"), std::string::npos);
}

TEST(CsvMapping, SegmentColumnsGoToTheMessagePropertiesAndTraits) {
    const auto event = Json(MapCsvRow(Context(Kind::kSegment), {"userId", "event", "price", "traits.plan"},
                                      {"u", "Order Completed", "9.5", "pro"}, "t", 2));
    EXPECT_EQ(event["type"], "track");
    EXPECT_EQ(event["properties"]["price"], 9.5);
    EXPECT_EQ(event["traits"]["plan"], "pro");
    EXPECT_TRUE(event.contains("messageId"));
}

const char* kEthanolRecord = R"(ethanol
     RDKit          2D

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  1  0
M  END
>  <AMW>  (1) 
46.069

>  <NSC>  (1) 
702

>  <STATE>  (1) 
liquid

$$$$
)";

TEST(SdfMapping, StructurePropertiesAndTitleBecomeTheRecord) {
    const auto event = Json(MapSdfRecord(Context(Kind::kChemical, "Dr. S"), {}, kEthanolRecord, 1));
    EXPECT_EQ(event["molecule_id"], "ethanol");
    EXPECT_EQ(event["researcher"], "Dr. S");
    EXPECT_EQ(event["data"]["smiles"], "CCO");
    EXPECT_EQ(event["data"]["name"], "ethanol");
    EXPECT_EQ(event["data"]["measurements"]["AMW"], 46.069);
    EXPECT_EQ(event["data"]["measurements"]["NSC"], 702);
    EXPECT_EQ(event["data"]["STATE"], "liquid");
    EXPECT_EQ(Json(MapSdfRecord(Context(Kind::kChemical, "R"), {"NSC"}, kEthanolRecord, 1))["molecule_id"], "702");
    const auto missing = MapSdfRecord(Context(Kind::kChemical, "R"), {"CAS"}, kEthanolRecord, 1);
    EXPECT_EQ(missing.field, "CAS");
}

TEST(SdfMapping, BrokenRecordIsRefusedWithRdkitsReason) {
    std::string broken = kEthanolRecord;
    // A triple bond to the oxygen: RDKit's sanitization refuses its valence.
    broken.replace(broken.find("  2  3  1  0"), 12, "  2  3  3  0");
    const auto mapped = MapSdfRecord(Context(Kind::kChemical, "R"), {}, broken, 4, 101);
    ASSERT_FALSE(mapped.ok());
    // RDKit's "molecule ending on line 10" of the record is line 110 of the file, said once.
    EXPECT_NE(mapped.error.find("line 110"), std::string::npos) << mapped.error;
    EXPECT_EQ(mapped.error.find("valence"), mapped.error.rfind("valence")) << mapped.error;
    EXPECT_TRUE(mapped.error.starts_with("RDKit: ")) << mapped.error;
    EXPECT_NE(mapped.error.find("valence"), std::string::npos) << mapped.error;
}

TEST(SdfSplitter, SplitsRecordsWithLinesAndOffsetsAndResumes) {
    const std::string text = std::string(kEthanolRecord) + kEthanolRecord + "\n\n";
    std::istringstream in(text);
    SdfSplitter splitter(in, 0, 0, 0, 1 << 20);
    SdfSplitter::Record record;
    ASSERT_TRUE(splitter.Next(record));
    EXPECT_EQ(record.number, 1);
    EXPECT_EQ(record.line, 1);
    const int64_t first_end = record.end_offset;
    EXPECT_EQ(first_end, static_cast<int64_t>(std::string(kEthanolRecord).size()));
    ASSERT_TRUE(splitter.Next(record));
    EXPECT_EQ(record.number, 2);
    EXPECT_EQ(record.line, 1 + record.end_line / 2);
    EXPECT_FALSE(splitter.Next(record));

    std::istringstream again(text);
    again.seekg(first_end);
    SdfSplitter resumed(again, first_end, record.end_line / 2, 1, 1 << 20);
    ASSERT_TRUE(resumed.Next(record));
    EXPECT_EQ(record.number, 2);
    EXPECT_EQ(record.text, kEthanolRecord);
}

}  // namespace
}  // namespace tributary::tools::import
