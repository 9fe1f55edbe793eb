package report_test

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/examples/app/internal/report"
)

func date(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// build writes a report and opens it again with excelize, as a reader of the
// file would.
func build(tb testing.TB, r report.Range, days []report.Day) *excelize.File {
	tb.Helper()
	var buf bytes.Buffer
	if err := report.Write(&buf, r, days); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		tb.Fatalf("open the written workbook: %v", err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

func rows(tb testing.TB, f *excelize.File, sheet string) [][]string {
	tb.Helper()
	got, err := f.GetRows(sheet)
	if err != nil {
		tb.Fatalf("GetRows(%s): %v", sheet, err)
	}
	return got
}

func equalRows(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

func TestWrite(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	r := report.Range{Start: date(t, "2026-01-30"), End: date(t, "2026-02-02")}
	days := []report.Day{
		{Date: date(t, "2026-01-30"), Signups: 3, Posts: 5},
		// Late evening in Tokyo is still 1 February there: the calendar
		// date in the value's own location counts.
		{Date: time.Date(2026, 2, 1, 23, 30, 0, 0, tokyo), Signups: 7, Posts: 2},
	}
	f := build(t, r, days)

	if got, want := f.GetSheetList(), []string{"Daily", "Summary"}; !slices.Equal(got, want) {
		t.Errorf("sheets = %v; want %v", got, want)
	}

	wantDaily := [][]string{
		{"Date", "Sign-ups", "Posts"},
		{"2026-01-30", "3", "5"},
		{"2026-01-31", "0", "0"},
		{"2026-02-01", "7", "2"},
		{"2026-02-02", "0", "0"},
		{"Total", "10", "7"},
	}
	if got := rows(t, f, report.SheetDaily); !equalRows(got, wantDaily) {
		t.Errorf("Daily sheet =\n%v\nwant\n%v", got, wantDaily)
	}

	wantSummary := [][]string{
		{"Measure", "Value"},
		{"From", "2026-01-30"},
		{"To", "2026-02-02"},
		{"Days", "4"},
		{"Total sign-ups", "10"},
		{"Total posts", "7"},
		{"Average sign-ups per day", "2.50"},
		{"Average posts per day", "1.75"},
		{"Busiest day for sign-ups", "2026-02-01"},
		{"Busiest day for posts", "2026-01-30"},
	}
	if got := rows(t, f, report.SheetSummary); !equalRows(got, wantSummary) {
		t.Errorf("Summary sheet =\n%v\nwant\n%v", got, wantSummary)
	}

	// The dates are real date cells: a serial number with a date format.
	for i, want := range []string{"2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"} {
		cell := "A" + strconv.Itoa(i+2)
		raw, err := f.GetCellValue(report.SheetDaily, cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		serial, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			t.Fatalf("%s raw value %q is not a number: %v", cell, raw, err)
		}
		got, err := excelize.ExcelDateToTime(serial, false)
		if err != nil || got.Format(time.DateOnly) != want {
			t.Errorf("%s = serial %v (%v, %v); want the date %s", cell, serial, got, err, want)
		}
		styleID, err := f.GetCellStyle(report.SheetDaily, cell)
		if err != nil {
			t.Fatal(err)
		}
		style, err := f.GetStyle(styleID)
		if err != nil || style.CustomNumFmt == nil || *style.CustomNumFmt != "yyyy-mm-dd" {
			t.Errorf("%s style = %+v, %v; want number format yyyy-mm-dd", cell, style, err)
		}
	}

	// Counts are numbers, not text, so they sum and sort.
	if typ, err := f.GetCellType(report.SheetDaily, "B2"); err != nil || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) {
		t.Errorf("B2 cell type = %v, %v; want a number", typ, err)
	}

	panes, err := f.GetPanes(report.SheetDaily)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("Daily panes = %+v, %v; want the header row frozen", panes, err)
	}
	props, err := f.GetDocProps()
	if err != nil || props.Title != "Sign-ups and posts 2026-01-30 to 2026-02-02" {
		t.Errorf("document title = %q, %v", props.Title, err)
	}
}

func TestWriteNoActivity(t *testing.T) {
	d := date(t, "2026-03-01")
	f := build(t, report.Range{Start: d, End: d}, nil)
	want := [][]string{{"Date", "Sign-ups", "Posts"}, {"2026-03-01", "0", "0"}, {"Total", "0", "0"}}
	if got := rows(t, f, report.SheetDaily); !equalRows(got, want) {
		t.Errorf("Daily sheet = %v; want %v", got, want)
	}
	summary := rows(t, f, report.SheetSummary)
	if got := summary[len(summary)-2:]; !equalRows(got, [][]string{{"Busiest day for sign-ups", "none"}, {"Busiest day for posts", "none"}}) {
		t.Errorf("busiest days = %v; want none and none", got)
	}
}

func TestWriteLongestRange(t *testing.T) {
	r := report.Range{Start: date(t, "2024-01-01"), End: date(t, "2024-12-31")} // a leap year: 366 days
	days := make([]report.Day, 0, 366)
	for i := range 366 {
		days = append(days, report.Day{Date: r.Start.AddDate(0, 0, i), Signups: 1, Posts: i % 3})
	}
	f := build(t, r, days)
	got := rows(t, f, report.SheetDaily)
	if len(got) != 368 {
		t.Fatalf("Daily sheet has %d rows; want header + 366 days + total", len(got))
	}
	if last, total := got[366], got[367]; last[0] != "2024-12-31" || !slices.Equal(total, []string{"Total", "366", "366"}) {
		t.Errorf("last day %v, totals %v; want 2024-12-31 and [Total 366 366]", last, total)
	}
}

func TestWriteRejects(t *testing.T) {
	r := report.Range{Start: date(t, "2026-01-01"), End: date(t, "2026-01-31")}
	tests := []struct {
		name       string
		r          report.Range
		days       []report.Day
		wantClient bool // an *Error (422) rather than a caller bug
		wantMsg    string
	}{
		{name: "reversed range", r: report.Range{Start: r.End, End: r.Start}, wantClient: true, wantMsg: "must not be before"},
		{name: "zero range", r: report.Range{}, wantClient: true, wantMsg: "is required"},
		{name: "day before the range", r: r, days: []report.Day{{Date: date(t, "2025-12-31")}}, wantMsg: "outside the range"},
		{name: "day after the range", r: r, days: []report.Day{{Date: date(t, "2026-02-01")}}, wantMsg: "outside the range"},
		{name: "same day twice", r: r, days: []report.Day{{Date: date(t, "2026-01-05")}, {Date: date(t, "2026-01-05")}}, wantMsg: "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := report.Write(&buf, tt.r, tt.days)
			var e *report.Error
			if err == nil || errors.As(err, &e) != tt.wantClient || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Write err = %v; want one containing %q (client error: %v)", err, tt.wantMsg, tt.wantClient)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes on error; want none", buf.Len())
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		name, start, end string
		wantDays         int
		wantField        string // "" when valid
		wantMsg          string
	}{
		{name: "one day", start: "2026-01-01", end: "2026-01-01", wantDays: 1},
		{name: "a month", start: "2026-01-01", end: "2026-01-31", wantDays: 31},
		{name: "a leap year", start: "2024-01-01", end: "2024-12-31", wantDays: 366},
		{name: "across a DST change", start: "2026-03-01", end: "2026-04-01", wantDays: 32},
		{name: "366 days", start: "2026-01-01", end: "2027-01-01", wantDays: 366},
		{name: "367 days", start: "2026-01-01", end: "2027-01-02", wantField: "end_date", wantMsg: "spans 367 days; at most 366"},
		{name: "centuries", start: "1900-01-01", end: "2500-01-01", wantField: "end_date", wantMsg: "at most 366"},
		{name: "end before start", start: "2026-02-01", end: "2026-01-31", wantField: "end_date", wantMsg: "must not be before start_date"},
		{name: "bad start", start: "01/02/2026", end: "2026-01-31", wantField: "start_date", wantMsg: "not a date"},
		{name: "bad end", start: "2026-01-01", end: "2026-02-30", wantField: "end_date", wantMsg: "not a date"},
		{name: "empty start", start: "", end: "2026-01-31", wantField: "start_date", wantMsg: "not a date"},
		{name: "date-time", start: "2026-01-01T00:00:00Z", end: "2026-01-31", wantField: "start_date", wantMsg: "not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := report.ParseRange(tt.start, tt.end)
			if tt.wantField == "" {
				if err != nil || r.Days() != tt.wantDays {
					t.Errorf("ParseRange(%q, %q) = %v (%d days), %v; want %d days", tt.start, tt.end, r, r.Days(), err, tt.wantDays)
				}
				return
			}
			var e *report.Error
			if !errors.As(err, &e) || !errors.Is(err, report.ErrInvalidRange) {
				t.Fatalf("ParseRange(%q, %q) err = %v; want a *report.Error wrapping ErrInvalidRange", tt.start, tt.end, err)
			}
			details, _ := e.ErrorDetails().([]apierror.FieldError)
			if e.Field != tt.wantField || !strings.Contains(e.Message, tt.wantMsg) || e.HTTPStatus() != 422 ||
				e.ErrorType() != "validation_error" || len(details) != 1 || details[0].Field != tt.wantField {
				t.Errorf("error = %q %q (status %d, type %s, details %v); want field %q and a message containing %q, 422",
					e.Field, e.Message, e.HTTPStatus(), e.ErrorType(), details, tt.wantField, tt.wantMsg)
			}
		})
	}
}

func TestRange(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	r := report.Range{Start: time.Date(2026, 1, 1, 0, 30, 0, 0, tokyo), End: time.Date(2026, 1, 31, 23, 59, 0, 0, tokyo)}
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if r.Days() != 31 || r.Filename() != "activity_2026-01-01_2026-01-31.xlsx" || r.String() != "2026-01-01..2026-01-31" {
		t.Errorf("Days, Filename, String = %d, %q, %q; want 31, activity_2026-01-01_2026-01-31.xlsx, 2026-01-01..2026-01-31",
			r.Days(), r.Filename(), r.String())
	}
	if got := (report.Range{Start: r.End, End: r.Start}).Days(); got != 0 {
		t.Errorf("reversed Days() = %d; want 0", got)
	}
}
