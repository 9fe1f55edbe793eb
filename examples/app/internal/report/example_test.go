package report_test

import (
	"bytes"
	"fmt"
	"log"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gantry-dev/gantry/examples/app/internal/report"
)

// The report job parses the requested range, passes the counts its query
// returned, and stores the workbook.
func Example() {
	r, err := report.ParseRange("2026-01-01", "2026-01-03")
	if err != nil {
		log.Fatal(err) // a handler returns it: 422
	}
	days := []report.Day{ // e.g. SELECT date(created_at), count(*) … GROUP BY 1
		{Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Signups: 4, Posts: 9},
		{Date: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), Signups: 1, Posts: 2},
	}
	var buf bytes.Buffer // or the store's writer
	if err := report.Write(&buf, r, days); err != nil {
		log.Fatal(err)
	}

	f, _ := excelize.OpenReader(&buf)
	defer f.Close()
	rows, _ := f.GetRows(report.SheetDaily)
	for _, row := range rows {
		fmt.Println(row)
	}
	fmt.Println(r.Filename())
	// Output:
	// [Date Sign-ups Posts]
	// [2026-01-01 4 9]
	// [2026-01-02 0 0]
	// [2026-01-03 1 2]
	// [Total 5 11]
	// activity_2026-01-01_2026-01-03.xlsx
}

func ExampleParseRange() {
	_, err := report.ParseRange("2026-01-01", "2027-06-30")
	fmt.Println(err)
	// Output: report: invalid date range: end_date: the range spans 546 days; at most 366 are allowed
}
