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
        catalog.Find(kernel) is { } entry ? TypedResults.Ok(ToInfo(entry)) : UnknownKernel(kernel, catalog);

    public static async Task<Results<Ok<ComputeResponse>, ValidationProblem, ProblemHttpResult>> RunKernel(
        string kernel,
        [FromQuery(Name = SizeParameter)] string? size,
        KernelCatalog catalog,
        ComputeJobRunner runner,
        ComputeMetrics metrics,
        IOptions<ComputeOptions> options,
        HttpContext httpContext)
    {
        if (catalog.Find(kernel) is not { } entry)
        {
            metrics.Rejected(RejectionReason.UnknownKernel, kernel: null);
            return UnknownKernel(kernel, catalog);
        }

        if (!TryParseSize(size, entry, out var n, out var error))
        {
            metrics.Rejected(RejectionReason.InvalidSize, entry.Name);
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [SizeParameter] = [error] },
                detail: error,
                extensions: new Dictionary<string, object?>
                {
                    ["kernel"] = entry.Name,
                    ["minimum"] = 1L,
                    ["maximum"] = entry.MaxSize,
                });
        }

        var deadline = httpContext.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken ?? CancellationToken.None;
        var job = await runner.RunAsync(entry.Kernel, n, httpContext.RequestAborted, deadline);

        switch (job.Outcome)
        {
            case JobOutcome.Success:
                var output = job.Output!.Value;
                return TypedResults.Ok(new ComputeResponse(entry.Name, n, output.Result, job.Elapsed.TotalSeconds,
                    new WorkDone(output.Work, entry.Kernel.Work.Unit)));

            case JobOutcome.Rejected when job.MemoryRefused is { } refused:
                SetRetryAfter(httpContext, options.Value.RetryAfter);
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    type: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
                    title: "Not enough memory for this job",
                    detail: $"A {entry.Name} job of size {n} needs {Mib(refused.RequiredBytes)} MiB of working memory; this replica uses "
                        + $"{Mib(refused.UsedBytes)} MiB of the {Mib(refused.LimitBytes)} MiB it may fill ({(int)(MemoryAccounting.BudgetFraction * 100)}% of its "
                        + "memory limit). Retry later or on another replica, or ask for a smaller size.",
                    extensions: new Dictionary<string, object?>
                    {
                        ["kernel"] = entry.Name,
                        [SizeParameter] = n,
                        ["requiredBytes"] = refused.RequiredBytes,
                        ["usedBytes"] = refused.UsedBytes,
                        ["limitBytes"] = refused.LimitBytes,
                    });

            case JobOutcome.Rejected:
                var retryAfter = options.Value.RetryAfter;
                SetRetryAfter(httpContext, retryAfter);
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status429TooManyRequests,
                    type: "https://www.rfc-editor.org/rfc/rfc6585#section-4",
                    title: "Too many compute requests",
                    detail: $"All {options.Value.EffectiveConcurrency} compute slots are busy and the queue of {options.Value.QueueLimit} is full. "
                        + $"Retry after {retryAfter.TotalSeconds:0.#} s.",
                    extensions: new Dictionary<string, object?>
                    {
                        ["kernel"] = entry.Name,
                        ["concurrencyLimit"] = options.Value.EffectiveConcurrency,
                        ["queueLimit"] = options.Value.QueueLimit,
                    });

            case JobOutcome.Timeout:
                return TimedOut(options.Value.RequestTimeout, entry.Name);

            default:
                return TypedResults.Problem(statusCode: ClientClosedRequest, title: "Client closed the request",
                    detail: "The client disconnected; the job was stopped.");
        }
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

    /// <summary>
    /// Parses the size query value. Absent means the configured default, so a plain GET runs a representative
    /// job; anything present must be a whole number from 1 to the kernel's maximum.
    /// </summary>
    internal static bool TryParseSize(string? raw, CatalogEntry entry, out long size, out string error)
    {
        size = 0;
        error = "";
        if (raw is null)
        {
            size = entry.DefaultSize;
            return true;
        }

        var allowed = $"Allowed: a whole number from 1 to {entry.MaxSize} ({entry.Kernel.SizeMeaning}).";
        var text = raw.Trim();
        if (text.Length == 0)
        {
            error = $"The size is empty. {allowed}";
            return false;
        }

        var negative = text[0] == '-';
        var digits = negative ? text[1..] : text;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
        {
            error = $"The size '{Shorten(raw)}' is not a whole number. {allowed}";
            return false;
        }
        if (negative && digits.Any(c => c != '0'))
        {
            error = $"The size must be positive, not negative. {allowed}";
            return false;
        }
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            error = $"The size '{Shorten(raw)}' overflows a 64-bit integer. {allowed}";
            return false;
        }
        if (value == 0)
        {
            error = $"The size must be at least 1. {allowed}";
            return false;
        }
        if (value > entry.MaxSize)
        {
            error = $"The size {value} is above the maximum of {entry.MaxSize} for kernel '{entry.Name}'. {allowed}";
            return false;
        }

        size = value;
        return true;
    }

    private static ProblemHttpResult UnknownKernel(string kernel, KernelCatalog catalog) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Unknown kernel",
            detail: $"There is no kernel named '{Shorten(kernel)}'. Known kernels: {string.Join(", ", catalog.Entries.Select(e => e.Name))}.",
            extensions: new Dictionary<string, object?> { ["kernels"] = catalog.Entries.Select(e => e.Name).ToArray() });

    private static KernelInfo ToInfo(CatalogEntry entry) =>
        new(entry.Name, entry.Kernel.Description, entry.Kernel.SizeMeaning, entry.DefaultSize, entry.MaxSize,
            entry.Kernel.Work.Unit, $"/api/compute/{entry.Name}");

    // Echoed input is cut short so an error message never grows with what the client sent.
    private static string Shorten(string value) => value.Length <= 32 ? value : string.Concat(value.AsSpan(0, 32), "…");
}
