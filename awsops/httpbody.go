package awsops

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// bufferedBody hands the transport a request body of its own. smithy-go
// closes the body it built as soon as the response headers arrive, while
// net/http may still be reading it (checking for bytes past Content-Length);
// the transport then closes the connection under the response and the SDK
// sees "use of closed network connection" on a 200 (aws-sdk-go-v2 issues
// 1825, 2737). On loopback this hit ~10% of DescribeInstanceStatus calls,
// and for a mutation the retry it causes answers VolumeInUse. EC2 query
// bodies are a few KB, so buffering costs nothing.
type bufferedBody struct{ next ec2.HTTPClient }

// Do reads the body into memory and sends a private copy.
func (b bufferedBody) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return b.next.Do(req)
	}
	buf, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("buffer request body: %w", err)
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(buf))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	out.ContentLength = int64(len(buf))
	return b.next.Do(out)
}

// withBufferedBody wraps the client the SDK resolved (or its default).
func withBufferedBody(c ec2.HTTPClient) ec2.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	return bufferedBody{next: c}
}
