using k8s;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// Writes generated manifests as a kustomize base: one YAML file per workload, the ConfigMaps' files under
/// <see cref="ConfigDirectory"/> (one folder per ConfigMap) with a configMapGenerator each, and kustomization.yaml.
/// </summary>
public static class ManifestWriter
{
    public const string KustomizationFile = "kustomization.yaml";

    /// <summary>The folder of the ConfigMaps' files, inside the base (kustomize reads files only below a kustomization).</summary>
    public const string ConfigDirectory = "config";

    public const string Header =
        "# Generated from the AppHost's app model by\n"
        + "#   dotnet aspire do kubernetes   (or: dotnet run --project AppHost -- --operation publish --step kubernetes)\n"
        + "# Do not edit: change the app model or the files under deploy/, then generate again.\n";

    public static void Write(Manifests manifests, string directory)
    {
        foreach (var set in manifests.Sets)
        {
            Write(set, Path.Combine(directory, set.Directory));
        }
        // The whole deployment: `kubectl apply -k deploy/k8s`.
        var whole = new Kustomization { Resources = [.. manifests.Sets.Select(s => s.Directory)] };
        File.WriteAllText(Path.Combine(directory, KustomizationFile), Header + KubernetesYaml.Serialize(whole).TrimEnd() + "\n");
    }

    private static void Write(ManifestSet set, string directory)
    {
        Directory.CreateDirectory(directory);
        // Generated files only; a README or the components folder stay.
        foreach (var stale in Directory.GetFiles(directory, "*.yaml"))
        {
            if (File.ReadAllText(stale).StartsWith(Header, StringComparison.Ordinal)) File.Delete(stale);
        }

        foreach (var file in set.Files)
        {
            File.WriteAllText(Path.Combine(directory, file.Name), Header + KubernetesYaml.SerializeAll(file.Objects).TrimEnd() + "\n");
        }

        // The whole folder is generated: a ConfigMap or file that is gone from the model goes from here too.
        var config = Path.Combine(directory, ConfigDirectory);
        if (Directory.Exists(config)) Directory.Delete(config, recursive: true);
        foreach (var map in set.ConfigMaps)
        {
            Directory.CreateDirectory(Path.Combine(config, map.Metadata.Name));
            foreach (var (key, value) in map.Data)
            {
                File.WriteAllText(Path.Combine(config, map.Metadata.Name, key), value);
            }
        }
        File.WriteAllText(Path.Combine(directory, KustomizationFile), Header + KubernetesYaml.Serialize(KustomizationOf(set)).TrimEnd() + "\n");
    }

    private static Kustomization KustomizationOf(ManifestSet set) => new()
    {
        Resources = [.. set.Files.Select(f => f.Name)],
        // Listed so a user can see where to point an image at a registry of theirs: kustomize edit set image ...
        Images = [.. set.Images.Distinct().Select(i => new KustomizeImage
        {
            Name = i.Registry is null ? i.Image : $"{i.Registry}/{i.Image}",
            NewTag = i.Tag,
        })],
        ConfigMapGenerator = set.ConfigMaps.Count == 0 ? null : [.. set.ConfigMaps.Select(m => new KustomizeConfigMap
        {
            Name = m.Metadata.Name,
            Namespace = m.Metadata.NamespaceProperty,
            Files = [.. m.Data.Keys.Order(StringComparer.Ordinal).Select(k => $"{ConfigDirectory}/{m.Metadata.Name}/{k}")],
            // Stable names: a changed file is updated in the mounted folder, not rolled out as a new ConfigMap (see ConfigMaps).
            Options = new KustomizeGeneratorOptions { Labels = new SortedDictionary<string, string>(m.Metadata.Labels, StringComparer.Ordinal), DisableNameSuffixHash = true },
        })],
    };

    // The kustomization file's own schema (kustomize.config.k8s.io/v1beta1), the parts used here.
    private sealed class Kustomization
    {
        public string ApiVersion { get; init; } = "kustomize.config.k8s.io/v1beta1";
        public string Kind { get; init; } = "Kustomization";
        public required List<string> Resources { get; init; }
        public List<KustomizeImage>? Images { get; init; }
        public List<KustomizeConfigMap>? ConfigMapGenerator { get; init; }
    }

    private sealed class KustomizeImage
    {
        public required string Name { get; init; }
        public required string NewTag { get; init; }
    }

    private sealed class KustomizeConfigMap
    {
        public required string Name { get; init; }
        public required string Namespace { get; init; }
        public required List<string> Files { get; init; }
        public required KustomizeGeneratorOptions Options { get; init; }
    }

    private sealed class KustomizeGeneratorOptions
    {
        public required SortedDictionary<string, string> Labels { get; init; }
        public bool DisableNameSuffixHash { get; init; }
    }
}
