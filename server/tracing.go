package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracingOptions configure SetupTracing.
type TracingOptions struct {
	// Getenv reads the OTEL_* variables (default os.Getenv). The OTLP
	// exporter itself reads its settings (endpoint, headers, timeout,
	// certificates, compression) from the process environment.
	Getenv func(string) string
	// Version is the service.version resource attribute.
	Version string
	// Logger gets export errors (at warn level) and one line saying where
	// spans go.
	Logger *slog.Logger
}

// SetupTracing installs the global OpenTelemetry TracerProvider: spans are
// batched and sent over OTLP/HTTP (protobuf) when OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, unless OTEL_SDK_DISABLED is
// "true" or OTEL_TRACES_EXPORTER is "none". Otherwise tracing stays off (the
// global no-op provider) and shutdown does nothing. The sampler
// (OTEL_TRACES_SAMPLER, default parentbased_always_on), the batching
// (OTEL_BSP_*) and the resource (OTEL_SERVICE_NAME, default "pipedream-mcp";
// OTEL_RESOURCE_ATTRIBUTES) follow the standard variables too. An exporter or
// protocol this build does not have (grpc) is an error naming the variable.
//
// shutdown flushes the spans still buffered; call it before exiting.
func SetupTracing(ctx context.Context, opts TracingOptions) (shutdown func(context.Context) error, err error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	noop := func(context.Context) error { return nil }
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return noop, nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return noop, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (or none) is supported", exp)
	}
	endpoint := firstSet(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	if strings.TrimSpace(endpoint) == "" {
		return noop, nil
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(name)); p != "" {
			if p != "http/protobuf" {
				return nil, fmt.Errorf("%s=%q: only http/protobuf is supported", name, p)
			}
			break
		}
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "pipedream-mcp"), attribute.String("service.version", opts.Version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: exporting spans failed", "err", err)
	}))
	otel.SetTracerProvider(tp)
	log.Info("tracing: sending spans over OTLP/HTTP", "endpoint", endpoint)
	return tp.Shutdown, nil
}

// firstSet is a unless it is blank, else b.
func firstSet(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// tracerName is the instrumentation scope of the server's spans.
const tracerName = "github.com/pipedream-mcp/pipedream-mcp/server"

// tracer is the tracer of the global TracerProvider as it is now
// (otel.SetTracerProvider may set it after start).
func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// traceContext is the W3C trace context propagator: incoming traceparent and
// tracestate only (no baggage).
var traceContext = propagation.TraceContext{}

// withHeaderTrace returns ctx with the remote span context of r's traceparent
// header, when it has a valid one.
func withHeaderTrace(ctx context.Context, r *http.Request) context.Context {
	if _, ok := r.Header["Traceparent"]; !ok {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
}

// withMetaTrace returns ctx with the remote span context of a call's
// _meta.traceparent (and tracestate), when it has a valid one; it takes
// precedence over the HTTP request's header.
func withMetaTrace(ctx context.Context, meta *mcp.Meta) context.Context {
	if meta == nil {
		return ctx
	}
	tp, _ := meta.AdditionalFields["traceparent"].(string)
	if tp == "" {
		return ctx
	}
	carrier := propagation.MapCarrier{"traceparent": tp}
	if ts, _ := meta.AdditionalFields["tracestate"].(string); ts != "" {
		carrier["tracestate"] = ts
	}
	return traceContext.Extract(ctx, carrier)
}

// traceCall runs each tool call in a server span "tools/call <tool>" (the
// MCP semantic conventions), whose parent is the call's _meta.traceparent,
// else the HTTP request's traceparent header, else none. The upstream
// requests the call makes are its children (the tool set's clients start
// them from the context).
func (s *Server) traceCall(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx = withMetaTrace(ctx, req.Params.Meta)
		ctx, span := tracer().Start(ctx, "tools/call "+req.Params.Name, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		if span.IsRecording() {
			attrs := []attribute.KeyValue{
				attribute.String("mcp.method.name", string(mcp.MethodToolsCall)),
				attribute.String("gen_ai.operation.name", "execute_tool"),
				attribute.String("gen_ai.tool.name", req.Params.Name),
			}
			if cs := mcpserver.ClientSessionFromContext(ctx); cs != nil && cs.SessionID() != "" {
				attrs = append(attrs, attribute.String("mcp.session.id", cs.SessionID()))
			}
			span.SetAttributes(attrs...)
		}
		res, err := next(ctx, req)
		if span.IsRecording() {
			switch {
			case err != nil:
				span.SetAttributes(attribute.String("error.type", "_OTHER"))
				span.SetStatus(codes.Error, err.Error())
			case res != nil && res.IsError:
				span.SetAttributes(attribute.String("error.type", "tool_error"))
				span.SetStatus(codes.Error, "the tool reported an error")
			}
		}
		return res, err
	}
}
