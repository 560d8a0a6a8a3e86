// GET /api/v1/events: parameter validation (a 400 naming the field for every bad value) and
// its cursors, bound to the tenant and to the filter they continue.
#include <gtest/gtest.h>

#include "query/raw_events.hpp"

namespace tributary::query {
namespace {

const ParamMap kBucket = {{"from", "2026-01-01T10:00:00Z"}, {"to", "2026-01-01T11:00:00Z"}};

ParamMap With(ParamMap params,
              std::initializer_list<std::pair<const std::string, std::string>> extra) {
    for (const auto& pair : extra) params.insert(pair);
    return params;
}

// The field named by the error, or "" when the parameters are accepted.
std::string ErrorField(const ParamMap& params, const std::string& tenant = "acme") {
    const auto parsed = ParseRawEventsQuery(tenant, params);
    if (const auto* error = std::get_if<ParamError>(&parsed)) return error->field;
    return "";
}

RawEventsQuery Parsed(const ParamMap& params, const std::string& tenant = "acme") {
    auto parsed = ParseRawEventsQuery(tenant, params);
    if (const auto* error = std::get_if<ParamError>(&parsed)) {
        ADD_FAILURE() << error->field << " " << error->reason;
        return {};
    }
    return std::get<RawEventsQuery>(parsed);
}

TEST(RawEventsParams, AcceptsARangeAloneWithTheDefaultLimit) {
    const RawEventsQuery query = Parsed(kBucket);
    EXPECT_EQ(common::FormatRfc3339(query.range.from), "2026-01-01T10:00:00.000000Z");
    EXPECT_EQ(common::FormatRfc3339(query.range.to), "2026-01-01T11:00:00.000000Z");
    EXPECT_EQ(query.limit, 50);
    EXPECT_FALSE(query.event_type);
    EXPECT_FALSE(query.dimension);
    EXPECT_FALSE(query.value);
    EXPECT_FALSE(query.after);
}

TEST(RawEventsParams, TakesAnEventTypeAndADimensionValueVerbatim) {
    const RawEventsQuery query = Parsed(With(kBucket, {{"event_type", "Order Completed"},
                                                       {"dimension", "page"},
                                                       {"value", "/checkout?step=2 \xc3\xa9"},
                                                       {"limit", "500"}}));
    EXPECT_EQ(query.event_type, "Order Completed");
    EXPECT_EQ(query.dimension, "page");
    EXPECT_EQ(query.value, "/checkout?step=2 \xc3\xa9");
    EXPECT_EQ(query.limit, 500);
}

TEST(RawEventsParams, AcceptsEveryBreakdownDimensionOfTop) {
    for (const char* dimension :
         {"page", "event_type", "device", "country", "referrer", "source"}) {
        EXPECT_EQ(ErrorField(With(kBucket, {{"dimension", dimension}, {"value", "x"}})), "")
            << dimension;
    }
}

TEST(RawEventsParams, NamesTheParameterThatIsWrong) {
    EXPECT_EQ(ErrorField({{"to", "2026-01-01T11:00:00Z"}}), "from");
    EXPECT_EQ(ErrorField({{"from", "2026-01-01T10:00:00Z"}}), "to");
    EXPECT_EQ(ErrorField({{"from", "yesterday"}, {"to", "2026-01-01T11:00:00Z"}}), "from");
    EXPECT_EQ(ErrorField({{"from", "2026-01-01T10:00:00"}, {"to", "2026-01-01T11:00:00Z"}}),
              "from");  // no offset
    EXPECT_EQ(ErrorField({{"from", "2026-01-01T11:00:00Z"}, {"to", "2026-01-01T11:00:00Z"}}), "to");
    EXPECT_EQ(ErrorField(With(kBucket, {{"event_type", ""}})), "event_type");
    EXPECT_EQ(ErrorField(With(kBucket, {{"event_type", "a\nb"}})), "event_type");
    EXPECT_EQ(ErrorField(With(kBucket, {{"dimension", "os"}, {"value", "linux"}})), "dimension");
    EXPECT_EQ(ErrorField(With(kBucket, {{"dimension", "page"}})), "value");
    EXPECT_EQ(ErrorField(With(kBucket, {{"value", "/home"}})), "value");
    EXPECT_EQ(ErrorField(With(kBucket, {{"dimension", "event_type"}, {"value", " "}})), "value");
    EXPECT_EQ(ErrorField(With(kBucket, {{"value", "\xff"}, {"dimension", "page"}})), "value");
    for (const char* limit : {"0", "501", "-1", "ten", "", "5.0", "50 "}) {
        EXPECT_EQ(ErrorField(With(kBucket, {{"limit", limit}})), "limit") << limit;
    }
    EXPECT_EQ(ErrorField(With(kBucket, {{"cursor", "not-a-cursor"}})), "cursor");
    EXPECT_EQ(ErrorField(With(kBucket, {{"tenant", "other"}})), "tenant");
    EXPECT_EQ(ErrorField(With(kBucket, {{"event_type", "a"}, {"event_type", "b"}})), "event_type");
}

TEST(RawEventsParams, ErrorsExplainTheRule) {
    const auto parsed = ParseRawEventsQuery("acme", With(kBucket, {{"limit", "501"}}));
    ASSERT_TRUE(std::holds_alternative<ParamError>(parsed));
    EXPECT_EQ(std::get<ParamError>(parsed).reason, "must be an integer from 1 to 500");
}

TEST(RawEventsCursor, ContinuesTheSameQueryOfTheSameTenant) {
    const ParamMap params = With(kBucket, {{"event_type", "view"}});
    const RawEventsQuery query = Parsed(params);
    const Cursor position{1767261600123456, 42};
    const std::string cursor = EncodeRawEventsCursor("acme", query, position);
    // Pages may change size: the limit is not part of the filter.
    const RawEventsQuery next = Parsed(With(params, {{"cursor", cursor}, {"limit", "7"}}));
    ASSERT_TRUE(next.after);
    EXPECT_EQ(next.after->time_us, position.time_us);
    EXPECT_EQ(next.after->id, position.id);
    // The same instants written with another offset are the same filter.
    EXPECT_EQ(ErrorField({{"from", "2026-01-01T11:00:00+01:00"},
                          {"to", "2026-01-01T12:00:00+01:00"},
                          {"event_type", "view"},
                          {"cursor", cursor}}),
              "");
}

TEST(RawEventsCursor, IsRefusedForAnotherTenantOrAnotherFilter) {
    const ParamMap params = With(kBucket, {{"dimension", "device"}, {"value", "mobile"}});
    const std::string cursor = EncodeRawEventsCursor("acme", Parsed(params), {1767261600000000, 7});
    EXPECT_EQ(ErrorField(With(params, {{"cursor", cursor}}), "acme"), "");
    EXPECT_EQ(ErrorField(With(params, {{"cursor", cursor}}), "globex"), "cursor");
    for (const ParamMap& other : {
             With({{"from", "2026-01-01T09:00:00Z"}, {"to", "2026-01-01T11:00:00Z"}},
                  {{"dimension", "device"}, {"value", "mobile"}}),
             With({{"from", "2026-01-01T10:00:00Z"}, {"to", "2026-01-01T12:00:00Z"}},
                  {{"dimension", "device"}, {"value", "mobile"}}),
             With(kBucket, {{"dimension", "device"}, {"value", "desktop"}}),
             With(kBucket, {{"dimension", "country"}, {"value", "mobile"}}),
             With(params, {{"event_type", "view"}}),
             kBucket,
         }) {
        EXPECT_EQ(ErrorField(With(other, {{"cursor", cursor}}), "acme"), "cursor");
    }
    // Filters that would serialize alike without length prefixes stay apart.
    const std::string split = EncodeRawEventsCursor(
        "acme", Parsed(With(kBucket, {{"event_type", "a"}, {"dimension", "page"}, {"value", "b"}})),
        {1, 1});
    EXPECT_EQ(ErrorField(With(
                  kBucket,
                  {{"event_type", "a"}, {"dimension", "page"}, {"value", "b"}, {"cursor", split}})),
              "");
    EXPECT_EQ(
        ErrorField(
            With(kBucket,
                 {{"event_type", "a,"}, {"dimension", "page"}, {"value", "b"}, {"cursor", split}})),
        "cursor");
}

TEST(RawEventsCursor, IsRefusedWhenAlteredOrFromAnotherList) {
    const RawEventsQuery query = Parsed(kBucket);
    std::string cursor = EncodeRawEventsCursor("acme", query, {1767261600000000, 7});
    cursor[cursor.size() / 2] = cursor[cursor.size() / 2] == 'A' ? 'B' : 'A';
    EXPECT_EQ(ErrorField(With(kBucket, {{"cursor", cursor}})), "cursor");
    // The user event list's cursors (same tenant, same (time, id) position) do not continue
    // this list.
    EXPECT_EQ(ErrorField(With(kBucket, {{"cursor", EncodeCursor("acme", {1767261600000000, 7})}})),
              "cursor");
    EXPECT_EQ(ErrorField(With(kBucket, {{"cursor", EncodeTenantCursor("acme", "e:")}})), "cursor");
}

}  // namespace
}  // namespace tributary::query
