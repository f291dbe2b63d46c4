// Package pace splits the budget's stretch between the connectivity check
// and the paid reads, so a priced check slows down before any car's data
// gets older.
package pace
