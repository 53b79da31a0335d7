using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>A kernel with the sizes configuration allows for it.</summary>
public sealed record CatalogEntry(IComputeKernel Kernel, long DefaultSize, long MaxSize)
{
    public string Name => Kernel.Name;
}

/// <summary>The kernels this service runs, looked up by name (case-insensitively) with their configured limits.</summary>
public sealed class KernelCatalog
{
    private readonly Dictionary<string, CatalogEntry> _byName;

    public KernelCatalog(IEnumerable<IComputeKernel> kernels, IOptions<ComputeOptions> options)
    {
        Entries = [.. kernels.Select(k =>
        {
            var limits = LimitsFor(options.Value, k.Name);
            return new CatalogEntry(k, limits.DefaultSize, limits.MaxSize);
        })];
        _byName = Entries.ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<CatalogEntry> Entries { get; }

    public CatalogEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The configuration section of each kernel's limits, e.g. <c>Compute:Primes</c>.</summary>
    public static string ConfigurationKey(string kernel) => kernel switch
    {
        PrimeCountKernel.KernelName => $"{ComputeOptions.SectionName}:{nameof(ComputeOptions.Primes)}",
        MatMulKernel.KernelName => $"{ComputeOptions.SectionName}:{nameof(ComputeOptions.MatMul)}",
        Sha256Kernel.KernelName => $"{ComputeOptions.SectionName}:{nameof(ComputeOptions.Sha256)}",
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "No limits are configured for this kernel."),
    };

    public static KernelLimits LimitsFor(ComputeOptions options, string kernel) => kernel switch
    {
        PrimeCountKernel.KernelName => options.Primes,
        MatMulKernel.KernelName => options.MatMul,
        Sha256Kernel.KernelName => options.Sha256,
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "No limits are configured for this kernel."),
    };
}

/// <summary>Checks each kernel's configured sizes against each other and against what the kernel can run.</summary>
public sealed class KernelLimitsValidator(IEnumerable<IComputeKernel> kernels) : IValidateOptions<ComputeOptions>
{
    public ValidateOptionsResult Validate(string? name, ComputeOptions options)
    {
        var failures = new List<string>();
        foreach (var kernel in kernels)
        {
            var limits = KernelCatalog.LimitsFor(options, kernel.Name);
            var key = KernelCatalog.ConfigurationKey(kernel.Name);
            if (limits.MaxSize > kernel.HardMaxSize)
            {
                failures.Add($"{key}:MaxSize is {limits.MaxSize}, above {kernel.HardMaxSize}, the largest size the {kernel.Name} kernel supports.");
            }
            if (limits.DefaultSize > limits.MaxSize)
            {
                failures.Add($"{key}:DefaultSize is {limits.DefaultSize}, above {key}:MaxSize ({limits.MaxSize}).");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
