using System.Diagnostics;
using System.Globalization;
using CloudApp.ComputeApi.Jobs;
using CloudApp.ComputeApi.Kernels;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Apis;

/// <summary>The HTTP surface of the compute service: list kernels, run one, and a root page.</summary>
public static class KernelsApi
{
    public const string ComputeTimeoutPolicy = "compute";
    public const string SizeParameter = "size";

    /// <summary>Status sent when the client went away before the job finished (nobody reads it; metrics do).</summary>
    public const int ClientClosedRequest = 499;

    /// <summary>Maps <c>GET /</c>, <c>GET /api/kernels</c>, <c>GET /api/kernels/{kernel}</c> and <c>GET /api/compute/{kernel}</c>.</summary>
    public static RouteGroupBuilder MapKernelsApi(this IEndpointRouteBuilder app)
    {
        // The instruments exist from the start, not from the first job: the limits and the kernels' list are on
        // the very first scrape, so dashboards and alerts have them before anyone computes.
        app.ServiceProvider.GetRequiredService<ComputeMetrics>();

        app.MapGet("/", RootPage.Render).ExcludeFromDescription();

        var api = app.MapGroup("/api").WithTags("Compute");

        api.MapGet("/kernels", ListKernels)
            .WithName("ListKernels")
            .WithSummary("Lists the kernels with their default and maximum sizes.");

        api.MapGet("/kernels/{kernel}", GetKernel)
            .WithName("GetKernel")
            .WithSummary("Describes one kernel.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/compute/{kernel}", RunKernel)
            .WithName("RunKernel")
            .WithSummary("Runs a kernel and returns its result.")
            .WithDescription("Omit size to use the kernel's configured default. Jobs beyond the concurrency limit wait in a bounded queue; "
                + "when it is full the answer is 429 with Retry-After. A job that needs more working memory than the replica has room for "
                + "under its memory limit is answered with 503 and Retry-After. A job still running at the deadline is stopped and answered with 504.")
            .WithRequestTimeout(ComputeTimeoutPolicy)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        return api;
    }

    public static Ok<KernelInfo[]> ListKernels(KernelCatalog catalog) =>
        TypedResults.Ok(catalog.Entries.Select(ToInfo).ToArray());

    public static Results<Ok<KernelInfo>, ProblemHttpResult> GetKernel(string kernel, KernelCatalog catalog) =>
        catalog.Find(kernel) is { } entry ? TypedResults.Ok(ToInfo(entry)) : UnknownKernel(kernel, catalog.Names);

    /// <summary>
    /// What <c>GET /api/compute/{kernel}</c> reads from the request. The services it uses stay parameters of the
    /// handler: inside an <c>[AsParameters]</c> type the OpenAPI document generator takes them for a request body.
    /// </summary>
    public readonly record struct ComputeRequest(
        string Kernel,
        [FromQuery(Name = SizeParameter)] string? Size,
        HttpContext HttpContext);

    public static async Task<Results<Ok<ComputeResponse>, ValidationProblem, ProblemHttpResult>> RunKernel(
        [AsParameters] ComputeRequest request, ComputeJobRunner runner, IOptions<ComputeOptions> options)
    {
        var http = request.HttpContext;
        var deadline = http.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken ?? CancellationToken.None;
        var result = await runner.RunAsync(request.Kernel, request.Size, http.RequestAborted, deadline);
        return ToHttp(result, options.Value, http);
    }

    /// <summary>The one mapping of a compute result to its answer.</summary>
    private static Results<Ok<ComputeResponse>, ValidationProblem, ProblemHttpResult> ToHttp(
        ComputeResult result, ComputeOptions options, HttpContext http) => result switch
    {
        ComputeResult.Completed done => TypedResults.Ok(new ComputeResponse(done.Kernel, done.Size, done.Output.Result,
            done.Elapsed.TotalSeconds, new WorkDone(done.Output.Work, done.WorkUnit))),
        ComputeResult.UnknownKernel unknown => UnknownKernel(unknown.Name, unknown.Known),
        ComputeResult.InvalidSize invalid => TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { [SizeParameter] = [invalid.Error] }, detail: invalid.Error,
            extensions: new Dictionary<string, object?> { ["kernel"] = invalid.Kernel, ["minimum"] = 1L, ["maximum"] = invalid.Maximum }),
        ComputeResult.QueueFull full => Busy(full, options, http),
        ComputeResult.MemoryUnavailable memory => NoMemory(memory, options, http),
        ComputeResult.TimedOut timedOut => TimedOut(options.RequestTimeout, timedOut.Kernel),
        ComputeResult.Cancelled => TypedResults.Problem(statusCode: ClientClosedRequest, title: "Client closed the request",
            detail: "The client disconnected; the job was stopped."),
        _ => throw new UnreachableException($"No answer for {result.GetType().Name}."),
    };

    private static ProblemHttpResult Busy(ComputeResult.QueueFull full, ComputeOptions options, HttpContext http)
    {
        SetRetryAfter(http, options.RetryAfter);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            type: "https://www.rfc-editor.org/rfc/rfc6585#section-4",
            title: "Too many compute requests",
            detail: $"All {options.EffectiveConcurrency} compute slots are busy and the queue of {options.QueueLimit} is full. "
                + $"Retry after {options.RetryAfter.TotalSeconds:0.#} s.",
            extensions: new Dictionary<string, object?>
            {
                ["kernel"] = full.Kernel,
                ["concurrencyLimit"] = options.EffectiveConcurrency,
                ["queueLimit"] = options.QueueLimit,
            });
    }

    private static ProblemHttpResult NoMemory(ComputeResult.MemoryUnavailable memory, ComputeOptions options, HttpContext http)
    {
        SetRetryAfter(http, options.RetryAfter);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            type: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
            title: "Not enough memory for this job",
            detail: $"A {memory.Kernel} job of size {memory.Size} needs {Mib(memory.RequiredBytes)} MiB of working memory; this replica uses "
                + $"{Mib(memory.UsedBytes)} MiB of the {Mib(memory.LimitBytes)} MiB it may fill ({(int)(MemoryAccounting.BudgetFraction * 100)}% of its "
                + "memory limit). Retry later or on another replica, or ask for a smaller size.",
            extensions: new Dictionary<string, object?>
            {
                ["kernel"] = memory.Kernel,
                [SizeParameter] = memory.Size,
                ["requiredBytes"] = memory.RequiredBytes,
                ["usedBytes"] = memory.UsedBytes,
                ["limitBytes"] = memory.LimitBytes,
            });
    }

    private static void SetRetryAfter(HttpContext httpContext, TimeSpan retryAfter) =>
        httpContext.Response.Headers.RetryAfter = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>Problem details for a compute request that ran past its deadline (also used by the timeout middleware).</summary>
    public static ProblemHttpResult TimedOut(TimeSpan timeout, string? kernel) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status504GatewayTimeout,
            title: "Compute deadline exceeded",
            detail: $"The job did not finish within the request timeout of {timeout.TotalSeconds:0.###} s and was stopped. "
                + "Ask for a smaller size.",
            extensions: new Dictionary<string, object?>
            {
                ["kernel"] = kernel,
                ["timeoutSeconds"] = timeout.TotalSeconds,
            });

    private static ProblemHttpResult UnknownKernel(string kernel, IReadOnlyList<string> known) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Unknown kernel",
            detail: $"There is no kernel named '{CatalogEntry.Shorten(kernel)}'. Known kernels: {string.Join(", ", known)}.",
            // An array: the trimmed service serializes only the types its JSON context names.
            extensions: new Dictionary<string, object?> { ["kernels"] = known.ToArray() });

    private static KernelInfo ToInfo(CatalogEntry entry) =>
        new(entry.Name, entry.Kernel.Description, entry.Kernel.SizeMeaning, entry.Kernel.ResultMeaning, entry.DefaultSize, entry.MaxSize,
            entry.Kernel.WorkUnit, $"/api/compute/{entry.Name}");

}
