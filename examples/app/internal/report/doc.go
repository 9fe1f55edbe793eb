// Package report builds the example app's activity report: an XLSX
// workbook of sign-ups and posts per day between two dates, written with
// github.com/xuri/excelize/v2.
//
// # Input
//
// The app queries its database for the counts per calendar day and passes
// them as [Day] values; days without activity may be left out and appear
// as zeros. A [Range] holds the first and last day, both included; build it
// with [ParseRange] from the request's "2026-01-31" strings, or check one
// with [Range.Validate]. A range may span at most [MaxDays] days (a leap
// year), so a report is bounded whatever the request says.
//
// # The workbook
//
// [Write] writes a workbook with two sheets:
//
//   - "Daily": a header row (Date, Sign-ups, Posts), one row per day of the
//     range with the date as a real date cell (formatted yyyy-mm-dd, so
//     spreadsheets sort and chart it), and a bold totals row. The header
//     is frozen and filterable.
//   - "Summary": the period, the number of days, the totals, the averages
//     per day and the busiest day for each measure (the earliest on a tie,
//     "none" when there was no activity).
//
// Totals are written as values, not formulas, so every reader (including
// libraries such as pandas that do not evaluate formulas) sees them.
//
// # Errors
//
// An invalid range is an [*Error] with HTTP status 422 (type
// "validation_error", the field in the details) wrapping
// [ErrInvalidRange]. Days outside the range, or the same day twice, are a
// bug in the caller's query, not the client's fault, and return a plain
// error.
package report
