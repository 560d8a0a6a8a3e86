#include "tools/import/arguments.hpp"

#include <gtest/gtest.h>

namespace tributary::tools::import {
namespace {

const Defaults kDefaults{"", ""};

Options Ok(std::vector<std::string> args, const Defaults& defaults = kDefaults) {
    auto parsed = ParseCommandLine(args, defaults);
    if (auto* error = std::get_if<UsageError>(&parsed)) {
        ADD_FAILURE() << "usage error: " << error->message;
        return {};
    }
    return std::get<Options>(parsed);
}

std::string Refused(std::vector<std::string> args) {
    auto parsed = ParseCommandLine(args, kDefaults);
    if (!std::holds_alternative<UsageError>(parsed)) {
        ADD_FAILURE() << "accepted";
        return {};
    }
    return std::get<UsageError>(parsed).message;
}

TEST(ImportArguments, DefaultsComeFromTheFileAndTheEnvironment) {
    const Options o = Ok({"events.ndjson", "--kind", "analytics"},
                         {"http://publisher:9000/base/", "trb_secret"});
    EXPECT_EQ(o.file, "events.ndjson");
    EXPECT_EQ(o.kind, Kind::kAnalytics);
    EXPECT_EQ(o.format, Format::kNdjson);
    EXPECT_EQ(o.url.scheme_host_port, "http://publisher:9000");
    EXPECT_EQ(o.url.base_path, "/base");
    EXPECT_EQ(o.key, "trb_secret");
    EXPECT_EQ(o.batch, 1000u);
    EXPECT_EQ(o.concurrency, 4);
    EXPECT_EQ(o.checkpoint_path, "events.ndjson.checkpoint");
    EXPECT_EQ(o.rejects_path, "events.ndjson.rejects");
    EXPECT_FALSE(o.restart);
}

TEST(ImportArguments, WithoutPublisherUrlTheLocalPublisherIsUsed) {
    const Options o = Ok({"a.csv", "--kind=chemical", "--researcher", "Dr. X"});
    EXPECT_EQ(o.url.scheme_host_port, "http://127.0.0.1:8000");
    EXPECT_EQ(o.format, Format::kCsv);
    EXPECT_EQ(o.researcher, "Dr. X");
}

TEST(ImportArguments, CommandLineOverridesTheEnvironment) {
    const Options o = Ok({"--kind", "segment", "--url", "https://h:443", "--key", "k2", "x.jsonl",
                          "--batch", "2500", "--concurrency", "8", "--checkpoint", "c", "--rejects",
                          "r", "--restart", "--progress", "plain", "--retries", "3"},
                         {"http://ignored:1", "k1"});
    EXPECT_EQ(o.kind, Kind::kSegment);
    EXPECT_EQ(o.url.scheme_host_port, "https://h:443");
    EXPECT_EQ(o.key, "k2");
    EXPECT_EQ(o.batch, 2500u);
    EXPECT_EQ(o.concurrency, 8);
    EXPECT_EQ(o.retries, 3);
    EXPECT_EQ(o.checkpoint_path, "c");
    EXPECT_EQ(o.rejects_path, "r");
    EXPECT_TRUE(o.restart);
    EXPECT_EQ(o.progress, ProgressMode::kPlain);
}

TEST(ImportArguments, FormatIsInferredFromTheExtensionOrGiven) {
    EXPECT_EQ(FormatFromPath("dir.v2/lib.SDF"), Format::kSdf);
    EXPECT_EQ(FormatFromPath("x.sd"), Format::kSdf);
    EXPECT_EQ(FormatFromPath("x.jsonl"), Format::kNdjson);
    EXPECT_EQ(FormatFromPath("x.json"), Format::kNdjson);
    EXPECT_EQ(FormatFromPath("x.csv"), Format::kCsv);
    EXPECT_EQ(FormatFromPath("x.txt"), std::nullopt);
    EXPECT_EQ(FormatFromPath("dir.csv/noext"), std::nullopt);
    EXPECT_EQ(Ok({"x.txt", "--kind", "analytics", "--format", "csv"}).format, Format::kCsv);
    EXPECT_NE(Refused({"x.txt", "--kind", "analytics"}).find("--format"), std::string::npos);
}

TEST(ImportArguments, BadValuesAreNamed) {
    EXPECT_NE(Refused({"x.ndjson"}).find("--kind is required"), std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "clicks"}).find("'clicks'"), std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--format", "xml"}).find("--format 'xml'"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--batch", "0"}).find("--batch '0'"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--batch", "12x"}).find("--batch"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "segment", "--batch", "2501"}).find("1 to 2500"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--concurrency", "65"}).find("--concurrency"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--url", "ftp://h"}).find("--url 'ftp://h'"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--url", "http://h:99999"}).find("port"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--url", "http://u:p@h"}).find("credentials"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--bogus", "1"}).find("unknown option --bogus"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--batch"}).find("needs a value"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--kind", "chemical"}).find("twice"),
              std::string::npos);
    EXPECT_NE(Refused({"a.ndjson", "b.ndjson", "--kind", "analytics"}).find("unexpected argument 'b.ndjson'"),
              std::string::npos);
    EXPECT_NE(Refused({"--kind", "analytics"}).find("no FILE"), std::string::npos);
}

TEST(ImportArguments, SdfOptionsNeedChemicalSdf) {
    EXPECT_NE(Refused({"lib.sdf", "--kind", "analytics"}).find("--kind chemical"), std::string::npos);
    EXPECT_NE(Refused({"x.csv", "--kind", "chemical", "--molecule-id-field", "ID"}).find("SDF"),
              std::string::npos);
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--researcher", "R"}).find("chemical"),
              std::string::npos);
    const Options o = Ok({"lib.sdf", "--kind", "chemical", "--molecule-id-field", "NSC"});
    EXPECT_EQ(o.format, Format::kSdf);
    EXPECT_EQ(o.molecule_id_field, "NSC");
}

TEST(ImportArguments, PathsMustDiffer) {
    EXPECT_NE(Refused({"x.ndjson", "--kind", "analytics", "--rejects", "x.ndjson"}).find("different"),
              std::string::npos);
}

TEST(ImportArguments, HelpAnywhereWinsOverEverythingElse) {
    EXPECT_TRUE(Ok({"--bogus", "--help"}).help);
    auto parsed = ParseCommandLine({"--help"}, kDefaults);
    ASSERT_TRUE(std::holds_alternative<Options>(parsed));
    EXPECT_TRUE(std::get<Options>(parsed).help);
    EXPECT_NE(UsageText().find("--molecule-id-field"), std::string::npos);
}

}  // namespace
}  // namespace tributary::tools::import
