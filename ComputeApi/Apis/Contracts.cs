using System.ComponentModel;
using CloudApp.ComputeApi.Kernels;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CloudApp.ComputeApi.Apis;

[Description("The result of one kernel run.")]
public sealed record ComputeResponse(
    [property: Description("Kernel that ran.")] string Kernel,
    [property: Description("Size it ran with (see the kernel's sizeMeaning).")] long Size,
    [property: Description("What the kernel computed: a number or a string, as the kernel's resultMeaning says (GET /api/kernels).")] KernelResult Result,
    [property: Description("Seconds the kernel ran, waiting for a slot not included.")] double Elapsed,
    [property: Description("Work done, in the kernel's workUnit (GET /api/kernels).")] WorkDone Work);

public sealed record WorkDone(long Amount, string Unit);

[Description("A kernel this service runs, with the sizes it accepts.")]
public sealed record KernelInfo(
    string Name,
    string Description,
    [property: Description("What the size parameter means.")] string SizeMeaning,
    [property: Description("What the result of a run is.")] string ResultMeaning,
    [property: Description("Size used when a request gives none.")] long DefaultSize,
    [property: Description("Largest size accepted; larger sizes get 400.")] long MaxSize,
    string WorkUnit,
    [property: Description("Relative URL that runs the kernel with its default size.")] string Href);

/// <summary>
/// The answers' JSON, generated at build time: the published service is trimmed, which leaves no reflection-based
/// serialization. A kernel's result writes itself (<see cref="KernelResult"/>); the primitives and the array are
/// what problem details carry in their extensions.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ComputeResponse))]
[JsonSerializable(typeof(KernelInfo))]
[JsonSerializable(typeof(KernelInfo[]))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class ContractsJsonContext : JsonSerializerContext;
