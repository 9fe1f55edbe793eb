package report

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gantry-dev/gantry/apierror"
)

// ContentType is the media type of the workbook [Write] produces.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// MaxDays is the longest range a report covers, in days (both ends
// included).
const MaxDays = 366

// DateLayout is the layout of the dates [ParseRange] accepts.
const DateLayout = time.DateOnly

// Sheet names.
const (
	SheetDaily   = "Daily"
	SheetSummary = "Summary"
)

// ErrInvalidRange means a report's date range is malformed, reversed or
// too long.
var ErrInvalidRange = errors.New("report: invalid date range")

// Error is a client error in a report request: HTTP 422.
type Error struct {
	// Field is "start_date" or "end_date".
	Field string
	// Message describes the problem, safe to show to the client.
	Message string
}

// Error returns "report: invalid date range: <field>: <message>".
func (e *Error) Error() string { return ErrInvalidRange.Error() + ": " + e.Field + ": " + e.Message }

// Unwrap returns [ErrInvalidRange].
func (e *Error) Unwrap() error { return ErrInvalidRange }

// HTTPStatus returns 422.
func (e *Error) HTTPStatus() int { return http.StatusUnprocessableEntity }

// ErrorType returns "validation_error".
func (e *Error) ErrorType() string { return "validation_error" }

// PublicMessage returns "<field>: <message>".
func (e *Error) PublicMessage() string { return e.Field + ": " + e.Message }

// ErrorDetails returns one [apierror.FieldError] with the rule "date_range".
func (e *Error) ErrorDetails() any {
	return []apierror.FieldError{{Field: e.Field, Rule: "date_range", Message: e.Message}}
}

// Day is the activity of one calendar day.
type Day struct {
	// Date is the day. Only its year, month and day count, in its own
	// location: 2026-01-31 23:30 in Tokyo is 2026-01-31.
	Date time.Time
	// Signups is the number of users who registered that day.
	Signups int
	// Posts is the number of posts created that day.
	Posts int
}

// Range is a span of calendar days, both ends included. Only the year,
// month and day of Start and End count.
type Range struct {
	Start, End time.Time
}

// ParseRange parses two dates like "2026-01-31" into a validated Range.
// Errors are [*Error] values naming "start_date" or "end_date".
func ParseRange(start, end string) (Range, error) {
	s, err := time.Parse(DateLayout, start)
	if err != nil {
		return Range{}, &Error{Field: "start_date", Message: fmt.Sprintf("%q is not a date like 2026-01-31", start)}
	}
	e, err := time.Parse(DateLayout, end)
	if err != nil {
		return Range{}, &Error{Field: "end_date", Message: fmt.Sprintf("%q is not a date like 2026-01-31", end)}
	}
	r := Range{Start: s, End: e}
	if err := r.Validate(); err != nil {
		return Range{}, err
	}
	return r, nil
}

// Validate reports whether the range is usable: both dates set, End not
// before Start, and at most [MaxDays] days.
func (r Range) Validate() error {
	if r.Start.IsZero() {
		return &Error{Field: "start_date", Message: "is required"}
	}
	if r.End.IsZero() {
		return &Error{Field: "end_date", Message: "is required"}
	}
	start, end := civil(r.Start), civil(r.End)
	if end.Before(start) {
		return &Error{Field: "end_date", Message: "must not be before start_date"}
	}
	if n := r.Days(); n > MaxDays {
		return &Error{Field: "end_date", Message: fmt.Sprintf("the range spans %d days; at most %d are allowed", n, MaxDays)}
	}
	return nil
}

// Days returns the number of days in the range, both ends included (0 if
// End is before Start).
func (r Range) Days() int {
	start, end := civil(r.Start), civil(r.End)
	if end.Before(start) {
		return 0
	}
	// Both are UTC midnights, so the difference is a whole number of days.
	return int((end.Unix()-start.Unix())/86400) + 1
}

// Filename returns a file name for the range's report, e.g.
// "activity_2026-01-01_2026-01-31.xlsx".
func (r Range) Filename() string {
	return "activity_" + civil(r.Start).Format(DateLayout) + "_" + civil(r.End).Format(DateLayout) + ".xlsx"
}

// String returns "2026-01-01..2026-01-31".
func (r Range) String() string {
	return civil(r.Start).Format(DateLayout) + ".." + civil(r.End).Format(DateLayout)
}

// civil returns t's calendar date as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Write writes the report for r to w as an XLSX workbook (see the package
// documentation for its layout). days may omit days without activity; a
// day outside r, or given twice, is an error. An invalid r is an [*Error].
func Write(w io.Writer, r Range, days []Day) error {
	if err := r.Validate(); err != nil {
		return err
	}
	rows, err := fill(r, days)
	if err != nil {
		return err
	}

	f := excelize.NewFile()
	defer f.Close()
	b := &builder{f: f}
	b.daily(rows)
	b.summary(r, rows)
	b.check(f.SetDocProps(&excelize.DocProperties{
		Title:   "Sign-ups and posts " + civil(r.Start).Format(DateLayout) + " to " + civil(r.End).Format(DateLayout),
		Creator: "Gantry example app",
	}))
	if b.err != nil {
		return fmt.Errorf("report: build workbook: %w", b.err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("report: write workbook: %w", err)
	}
	return nil
}

// fill returns one Day per day of r, in order, with the counts of days.
func fill(r Range, days []Day) ([]Day, error) {
	start := civil(r.Start)
	rows := make([]Day, r.Days())
	seen := make([]bool, len(rows))
	for i := range rows {
		rows[i].Date = start.AddDate(0, 0, i)
	}
	for _, d := range days {
		date := civil(d.Date)
		i := int((date.Unix() - start.Unix()) / 86400)
		if i < 0 || i >= len(rows) {
			return nil, fmt.Errorf("report: day %s is outside the range %s", date.Format(DateLayout), r)
		}
		if seen[i] {
			return nil, fmt.Errorf("report: day %s appears twice", date.Format(DateLayout))
		}
		seen[i] = true
		rows[i].Signups, rows[i].Posts = d.Signups, d.Posts
	}
	return rows, nil
}

// builder writes cells, keeping the first error so the layout code reads
// straight.
type builder struct {
	f   *excelize.File
	err error
}

func (b *builder) check(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *builder) set(sheet string, col, row int, v any) {
	cell, err := excelize.CoordinatesToCellName(col, row)
	b.check(err)
	if b.err == nil {
		b.check(b.f.SetCellValue(sheet, cell, v))
	}
}

func (b *builder) style(sheet string, fromCol, fromRow, toCol, toRow int, s *excelize.Style) {
	if b.err != nil {
		return
	}
	id, err := b.f.NewStyle(s)
	b.check(err)
	from, err := excelize.CoordinatesToCellName(fromCol, fromRow)
	b.check(err)
	to, err := excelize.CoordinatesToCellName(toCol, toRow)
	b.check(err)
	if b.err == nil {
		b.check(b.f.SetCellStyle(sheet, from, to, id))
	}
}

// Number formats of date and average cells.
const (
	dateFormat    = "yyyy-mm-dd"
	decimalFormat = "0.00"
)

func numFmt(format string) *excelize.Style { return &excelize.Style{CustomNumFmt: &format} }

func headerStyle() *excelize.Style {
	return &excelize.Style{
		Font:   &excelize.Font{Bold: true},
		Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Border: []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}},
	}
}

// daily fills the Daily sheet: header, one row per day, totals.
func (b *builder) daily(rows []Day) {
	const sheet = SheetDaily
	b.check(b.f.SetSheetName("Sheet1", sheet))
	for col, h := range []string{"Date", "Sign-ups", "Posts"} {
		b.set(sheet, col+1, 1, h)
	}
	var signups, posts int
	for i, d := range rows {
		b.set(sheet, 1, i+2, d.Date)
		b.set(sheet, 2, i+2, d.Signups)
		b.set(sheet, 3, i+2, d.Posts)
		signups += d.Signups
		posts += d.Posts
	}
	last := len(rows) + 1
	total := last + 1
	b.set(sheet, 1, total, "Total")
	b.set(sheet, 2, total, signups)
	b.set(sheet, 3, total, posts)

	b.style(sheet, 1, 1, 3, 1, headerStyle())
	b.style(sheet, 1, 2, 1, last, numFmt(dateFormat))
	b.style(sheet, 1, total, 3, total, &excelize.Style{
		Font:   &excelize.Font{Bold: true},
		Border: []excelize.Border{{Type: "top", Color: "000000", Style: 1}},
	})
	if b.err != nil {
		return
	}
	b.check(b.f.SetColWidth(sheet, "A", "A", 12))
	b.check(b.f.SetColWidth(sheet, "B", "C", 10))
	b.check(b.f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}))
	b.check(b.f.AutoFilter(sheet, fmt.Sprintf("A1:C%d", last), nil))
}

// busiest returns the busiest day, or "none" when there was no activity.
func busiest(day time.Time, total int) any {
	if total == 0 {
		return "none"
	}
	return day
}

// summary fills the Summary sheet: a label column and a value column.
func (b *builder) summary(r Range, rows []Day) {
	const sheet = SheetSummary
	if _, err := b.f.NewSheet(sheet); err != nil {
		b.check(err)
		return
	}
	var signups, posts int
	busiestSignups, busiestPosts := rows[0], rows[0]
	for _, d := range rows {
		signups += d.Signups
		posts += d.Posts
		if d.Signups > busiestSignups.Signups {
			busiestSignups = d
		}
		if d.Posts > busiestPosts.Posts {
			busiestPosts = d
		}
	}
	n := len(rows)
	lines := []struct {
		label string
		value any
		style *excelize.Style
	}{
		{"From", civil(r.Start), numFmt(dateFormat)},
		{"To", civil(r.End), numFmt(dateFormat)},
		{"Days", n, nil},
		{"Total sign-ups", signups, nil},
		{"Total posts", posts, nil},
		{"Average sign-ups per day", float64(signups) / float64(n), numFmt(decimalFormat)},
		{"Average posts per day", float64(posts) / float64(n), numFmt(decimalFormat)},
		{"Busiest day for sign-ups", busiest(busiestSignups.Date, signups), numFmt(dateFormat)},
		{"Busiest day for posts", busiest(busiestPosts.Date, posts), numFmt(dateFormat)},
	}
	b.set(sheet, 1, 1, "Measure")
	b.set(sheet, 2, 1, "Value")
	b.style(sheet, 1, 1, 2, 1, headerStyle())
	for i, l := range lines {
		b.set(sheet, 1, i+2, l.label)
		b.set(sheet, 2, i+2, l.value)
		if l.style != nil {
			b.style(sheet, 2, i+2, 2, i+2, l.style)
		}
	}
	if b.err == nil {
		b.check(b.f.SetColWidth(sheet, "A", "A", 26))
		b.check(b.f.SetColWidth(sheet, "B", "B", 12))
	}
}
