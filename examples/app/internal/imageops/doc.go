// Package imageops applies an ordered list of operations to an image for
// the example app's image-processing job: resize, rotate, grayscale, blur
// and thumbnail, on github.com/disintegration/imaging (pure Go).
//
// # Operations
//
// An [Op] names an operation and its parameters. Lists usually arrive as
// JSON in the request that queues the job, and [Parse] decodes and checks
// them:
//
//	[{"op":"resize","width":200},{"op":"rotate","angle":90},{"op":"grayscale"}]
//
// The operations and their parameters:
//
//   - resize: width and/or height in pixels; when one is 0 (or absent) it
//     follows from the aspect ratio.
//   - rotate: angle 90, 180 or 270, counter-clockwise (as PIL and imaging).
//   - grayscale: no parameters.
//   - blur: Gaussian blur with sigma in (0, 50].
//   - thumbnail: scale down to fit a width × height box, keeping the
//     aspect ratio (never scaling up; as PIL's thumbnail).
//
// A list has 1 to [MaxOps] operations; sizes are at most [MaxDimension].
// Anything else (an unknown op or field, a missing or stray parameter, a
// wrong type) is an [*Error] with HTTP status 422, wrapping
// [ErrInvalidOps], whose details name the field, e.g.
// "operations[1].angle". Handlers call Parse (or [Validate] on a bound
// list) before queueing, so the client hears about a typo at once.
//
// # Processing
//
// A [Processor], made by [New], runs a list on an image with
// [Processor.Process]: it decodes PNG, JPEG (EXIF orientation applied) or
// GIF (the first frame), applies the operations in order, calling a
// [ProgressFunc] after each one so the job can report progress, and
// encodes the result in the input's format (or PNG, see
// [Config.Format]).
//
// # Limits
//
// Images are untrusted input. The encoded input is read up to
// [Config.MaxBytes], and before anything is decoded its header is read
// with DecodeConfig and the declared dimensions are checked against
// [Config.MaxPixels]: a 100-byte PNG that declares 100000 × 100000 pixels
// (40 GB decoded: a decompression bomb) is refused with [ErrTooLarge]
// without allocating its pixels. A resize that would exceed the same cap is
// refused too. Other formats (BMP, TIFF, WebP, SVG, …) are refused with
// [ErrUnsupportedFormat], whatever decoders the program links.
//
// # Errors
//
// Errors caused by the input are [*Error] values carrying an HTTP status
// (as the server's error handler expects: HTTPStatus, ErrorType,
// PublicMessage, ErrorDetails) and wrapping one of [ErrInvalidOps] (422),
// [ErrInvalidImage] (422), [ErrUnsupportedFormat] (415) or [ErrTooLarge]
// (413 for the input, 422 for a resize).
package imageops
