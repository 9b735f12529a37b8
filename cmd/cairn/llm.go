package main

import (
	"flag"
	"fmt"
	"net/url"

	"github.com/cairn-cdr/cairn/assist"
)

// llmFlags are the flags of the assistant's optional language model.
type llmFlags struct {
	url, model, keyEnv *string
	mask               *bool
}

func addLLMFlags(fs *flag.FlagSet) llmFlags {
	return llmFlags{
		url:    fs.String("llm-url", "", "optional OpenAI-compatible API for the assistant, e.g. http://localhost:11434/v1 (Ollama); it reaches the data only through the assistant's tools"),
		model:  fs.String("llm-model", "", "the model to ask (with --llm-url)"),
		keyEnv: fs.String("llm-key-env", "CAIRN_LLM_API_KEY", "environment variable holding the API key, if the endpoint needs one"),
		mask:   fs.Bool("llm-mask", false, "replace IP addresses, account ids and user names with placeholders before anything is sent to the model"),
	}
}

// config returns the model's configuration, nil when none is given.
func (f llmFlags) config(e *env) (*assist.LLMConfig, error) {
	if *f.url == "" {
		if *f.model != "" {
			return nil, fmt.Errorf("--llm-model needs --llm-url")
		}
		return nil, nil
	}
	u, err := url.Parse(*f.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--llm-url: want an http(s) URL, got %q", *f.url)
	}
	if *f.model == "" {
		return nil, fmt.Errorf("--llm-url needs --llm-model")
	}
	return &assist.LLMConfig{URL: *f.url, Model: *f.model, APIKey: e.getenv(*f.keyEnv), Mask: *f.mask}, nil
}
