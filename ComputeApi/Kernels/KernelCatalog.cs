using System.Globalization;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>A kernel with the sizes configuration allows for it.</summary>
public sealed record CatalogEntry(IComputeKernel Kernel, long DefaultSize, long MaxSize)
{
    public string Name => Kernel.Name;

    /// <summary>
    /// Parses a request's size. Absent means the configured default, so a plain GET runs a representative job;
    /// anything present must be a whole number from 1 to <see cref="MaxSize"/>. <paramref name="error"/> says which
    /// rule the value broke, echoing at most 32 characters of it.
    /// </summary>
    public bool TryParseSize(string? raw, out long size, out string error)
    {
        size = raw is null ? DefaultSize : 0;
        error = "";
        if (raw is null) return true;

        var text = raw.Trim();
        var negative = text.StartsWith('-');
        var digits = negative ? text[1..] : text;
        var value = 0L;
        var problem = text.Length == 0 ? "The size is empty."
            : digits.Length == 0 || !digits.All(char.IsAsciiDigit) ? $"The size '{Shorten(raw)}' is not a whole number."
            : negative && digits.Any(c => c != '0') ? "The size must be positive, not negative."
            : !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value) ? $"The size '{Shorten(raw)}' overflows a 64-bit integer."
            : value == 0 ? "The size must be at least 1."
            : value > MaxSize ? $"The size {value} is above the maximum of {MaxSize} for kernel '{Name}'."
            : null;
        if (problem is null)
        {
            size = value;
            return true;
        }
        error = $"{problem} Allowed: a whole number from 1 to {MaxSize} ({Kernel.SizeMeaning}).";
        return false;
    }

    /// <summary>Echoed input is cut short so an error message never grows with what the client sent.</summary>
    public static string Shorten(string value) => value.Length <= 32 ? value : string.Concat(value.AsSpan(0, 32), "…");
}

/// <summary>The kernels this service runs, looked up by name (case-insensitively) with their configured limits.</summary>
public sealed class KernelCatalog
{
    private readonly Dictionary<string, CatalogEntry> _byName;

    public KernelCatalog(IEnumerable<IComputeKernel> kernels, IOptionsMonitor<KernelLimits> limits)
    {
        Entries = [.. kernels.Select(k =>
        {
            var configured = limits.Get(k.Name);
            return new CatalogEntry(k, configured.DefaultSize, configured.MaxSize);
        })];
        _byName = Entries.ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
        Names = [.. Entries.Select(e => e.Name)];
    }

    public IReadOnlyList<CatalogEntry> Entries { get; }

    public IReadOnlyList<string> Names { get; }

    public CatalogEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The configuration section of a kernel's limits, e.g. <c>Compute:primes</c> (keys are case-insensitive).</summary>
    public static string ConfigurationKey(string kernel) => $"{ComputeOptions.SectionName}:{kernel}";
}

/// <summary>
/// Each kernel's limits, as named options (the name is the kernel's): its <see cref="IComputeKernel.DefaultLimits"/>,
/// overridden by the configuration section <c>Compute:{kernel}</c>.
/// </summary>
internal sealed class KernelLimitsSetup(IEnumerable<IComputeKernel> kernels, IConfiguration configuration) : IConfigureNamedOptions<KernelLimits>
{
    public void Configure(string? name, KernelLimits options)
    {
        if (kernels.FirstOrDefault(k => k.Name == name) is not { } kernel) return;
        var defaults = kernel.DefaultLimits;
        options.DefaultSize = defaults.DefaultSize;
        options.MaxSize = defaults.MaxSize;
        configuration.GetSection(KernelCatalog.ConfigurationKey(kernel.Name)).Bind(options);
    }

    public void Configure(KernelLimits options) => Configure(Options.DefaultName, options);
}

/// <summary>
/// Checks, when the service starts, each kernel's configured sizes against each other and against what the kernel
/// can run: the service refuses to start rather than accept sizes it cannot serve.
/// </summary>
public sealed class KernelLimitsValidator(IEnumerable<IComputeKernel> kernels, IOptionsMonitor<KernelLimits> limits) : IValidateOptions<ComputeOptions>
{
    public ValidateOptionsResult Validate(string? name, ComputeOptions options)
    {
        var failures = new List<string>();
        foreach (var kernel in kernels)
        {
            var configured = limits.Get(kernel.Name);
            var key = KernelCatalog.ConfigurationKey(kernel.Name);
            if (configured.DefaultSize < 1 || configured.MaxSize < 1)
            {
                failures.Add($"{key}:DefaultSize and {key}:MaxSize must be at least 1 (they are {configured.DefaultSize} and {configured.MaxSize}).");
            }
            if (configured.MaxSize > kernel.HardMaxSize)
            {
                failures.Add($"{key}:MaxSize is {configured.MaxSize}, above {kernel.HardMaxSize}, the largest size the {kernel.Name} kernel supports.");
            }
            if (configured.DefaultSize > configured.MaxSize)
            {
                failures.Add($"{key}:DefaultSize is {configured.DefaultSize}, above {key}:MaxSize ({configured.MaxSize}).");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
